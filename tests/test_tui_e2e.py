"""End to end: the chat app over the real ChatSession (tiny model, tiny embedder, the
shipped MCP servers plus a third-party-style test server that needs approval)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assistant.chat.session import ChatSession
from assistant.tui.app import AssistantApp
from assistant.tui.widgets.cards import ToolCard
from assistant.tui.widgets.inspect_views import ProbsView
from tests.chat_support import chat_settings, write_docs, write_mcp_config
from tests.test_tui_chat import SIZE, answered, send, wait_until
from tests.tiny import build_tiny_model

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]


async def test_real_session_answer_sources_approval_and_probs(tmp_path: Path) -> None:
    model_dir = build_tiny_model(tmp_path / "model", n_positions=1024)
    settings = chat_settings(tmp_path / "home", model_dir, write_docs(tmp_path / "docs"))
    write_mcp_config(settings, auto_approve=[])  # the test server's tool needs approval
    sessions: list[ChatSession] = []

    def factory(approve: Any) -> ChatSession:
        sessions.append(ChatSession(settings, approve=approve))
        return sessions[-1]

    app = AssistantApp(factory, export_dir=tmp_path / "exports")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, app.loaded.is_set, tries=6000)
            assert app.header.model_name.endswith("model") and not app.header.fallback

            await send(pilot, "what is beam search?")
            block = await answered(pilot)
            assert block.error is None and block.message is not None
            assert block.message.steps and block.message.message_id is not None
            assert block.message.prompt  # the budgeted prompt, for lookups and forks
            assert block.sources is not None
            assert any("decoding.md" in str(p.path) for p in block.sources.passages)
            assert block.query("BudgetMeter")
            # grounded (the chat's default): every copied token names a listed source passage
            message = block.message
            copied = [s for s in message.steps if s.provenance and s.provenance.copied]
            assert all(s.provenance is not None for s in message.steps)
            assert all(message.passage_of(s) is not None for s in copied)

            await send(pilot, '/tool slow.echo {"text": "hi [bold]"}')
            await wait_until(pilot, lambda: type(app.screen).__name__ == "ApprovalScreen", 3000)
            await pilot.press("y")
            block = await answered(pilot)
            card = block.query_one(ToolCard)
            assert card.has_class("-ok"), card.render()
            assert "hi [bold]" in str(card.render())

            await send(pilot, "/probs Beam search keeps")
            await wait_until(pilot, lambda: bool(app.query(ProbsView)))
            assert len(app.query_one(ProbsView).top) == 20
    finally:
        for session in sessions:
            session.close()
