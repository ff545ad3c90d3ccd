"""Pilot tests of /tokens TEXT (the tokenizer's cut of a text, in the log) and of the token
inspector's decoding pipeline (e): both computed in a worker over a real (tiny) model."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from textual.pilot import Pilot

from assistant.core.decoding import DecodingSettings
from assistant.core.engine import Engine
from assistant.core.pipeline_explain import explain_step
from assistant.core.tokenization import tokenize
from assistant.tui.screens.pipeline import PipelineScreen
from assistant.tui.widgets.assistant_message import AssistantMessage
from assistant.tui.widgets.cards import NoticeLine
from assistant.tui.widgets.pipeline_view import PipelineView
from assistant.tui.widgets.tokens_view import TokenizationView, token_label
from tests.test_tui_chat import SIZE, answered, make_app, send, wait_until
from tests.tui_fakes import PROMPT

pytestmark = pytest.mark.asyncio

TEXT = "Zażółć gęślą jaźń: tokenization 中文 👍"


@pytest.fixture(scope="module")
def tiny_engine(tiny_model_dir: Path) -> Engine:
    return Engine.load(str(tiny_model_dir), allow_fallback=False, threads=1)


async def token_view_at(pilot: Pilot[None], index: int) -> AssistantMessage:
    await send(pilot, "greedy?")
    message = (await answered(pilot)).message
    assert message is not None and len(message.steps) > index + 1
    await pilot.press("ctrl+t")
    for _ in range(index):
        await pilot.press("right")
    await pilot.pause()
    assert message.cursor == index
    return message


async def test_tokens_text_shows_every_token_and_the_context_count(
    tmp_path: Path, tiny_engine: Engine
) -> None:
    app, _ = make_app(tmp_path, engine=tiny_engine)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, f"/tokens {TEXT}")
        await wait_until(pilot, lambda: bool(app.query(TokenizationView)))
        view = app.query_one(TokenizationView)
        expected = tokenize(tiny_engine.tokenizer, TEXT, tiny_engine.context_length)
        assert view.result.ids == expected.ids and view.result.round_trips
        shown = str(view.render())
        assert f"{expected.count} tokens of 128 context" in shown
        # Every token is on screen in order; partial characters as their bytes.
        assert shown.startswith("".join(token_label(p) for p in expected.pieces))
        assert any(not p.valid_utf8 for p in expected.pieces) and "⟨" in shown
        # Neighbouring tokens get different shades; a word's continuation is underlined.
        content = view.render()
        styles = [span.style for span in content.spans[: expected.count]]
        assert all(a != b for a, b in itertools.pairwise(styles))
        continues = [p for p in expected.pieces if not p.starts_word]
        assert continues, "the text has split words"
        for piece in expected.pieces:
            style = styles[piece.index]
            assert getattr(style, "underline", None) is (True if not piece.starts_word else None)
        # No answer was asked for: /tokens TEXT is not a chat turn.
        assert not app.query(AssistantMessage)


async def test_tokens_without_text_still_toggles_the_token_view(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "greedy?")
        message = (await answered(pilot)).message
        assert message is not None
        await send(pilot, "/tokens")
        await pilot.pause()
        assert message.token_view and not app.query(TokenizationView)


async def test_pipeline_screen_for_the_cursors_token(tmp_path: Path, tiny_engine: Engine) -> None:
    settings = DecodingSettings(
        strategy="sample", temperature=0.8, top_k=20, top_p=0.9, repetition_penalty=1.2
    )
    app, _ = make_app(tmp_path, engine=tiny_engine)
    app.decoding = settings  # the answer's settings: the pipeline replays this chain
    async with app.run_test(size=SIZE) as pilot:
        message = await token_view_at(pilot, 2)
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, PipelineScreen))
        screen = app.screen
        assert isinstance(screen, PipelineScreen)
        await wait_until(pilot, lambda: screen.result is not None)
        result = screen.result
        assert result is not None
        ids = [s.token_id for s in message.steps]
        expected = explain_step(tiny_engine, PROMPT, ids, 2, message.decoding or settings)
        assert result.token_id == message.steps[2].token_id
        assert (
            [s.name for s in result.stages]
            == [s.name for s in expected.stages]
            == [
                "raw model",
                "repetition penalty 1.2",
                "temperature 0.8",
                "top-k 20",
                "top-p 0.9",
            ]
        )
        assert [s.chosen_prob for s in result.stages] == [s.chosen_prob for s in expected.stages]
        table = str(screen.query_one(PipelineView).render())
        for name in ("0. raw model", "3. top-k 20", "kept 20", "removed"):
            assert name in table
        assert "stages · replayed in" in str(screen.query_one("#pipeline-status").render())
        await pilot.press("right")
        await wait_until(pilot, lambda: screen.result is not result)
        assert screen.result is not None and screen.result.step == 3
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, PipelineScreen))
        assert message.cursor == 3 and message.has_focus


async def test_pipeline_needs_the_token_view(tmp_path: Path, tiny_engine: Engine) -> None:
    app, _ = make_app(tmp_path, engine=tiny_engine)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "greedy?")
        message = (await answered(pilot)).message
        assert message is not None
        message.focus()
        await pilot.press("e")
        await pilot.pause()
        assert not isinstance(app.screen, PipelineScreen)


async def test_help_names_tokens_text_and_the_pipeline_key(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/help")
        await pilot.pause()
        shown = str(app.query(NoticeLine).last().render())
        assert "/tokens [TEXT]" in shown and "decoding pipeline" in shown
