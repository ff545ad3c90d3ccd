"""The token view says what a remote model's probabilities are: raw, from the server, with no
after-processor column (the server does not report it), and a rank past the alternatives."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.chat.events import ChatEvent, TurnDone
from assistant.chat.model_info import ModelInfo
from assistant.core.decoding import DecodingSettings
from assistant.core.types import TokenProb, TokenStep
from assistant.tui.widgets.token_panel import TokenPanel
from tests.test_tui_chat import answered, app_of, send, wait_until
from tests.tui_fakes import FakeSession


def step(probabilities: str, rank: int = 1) -> TokenStep:
    return TokenStep(
        index=0, token_id=5, text="a", logprob=-1.0, processed_logprob=-1.0, rank=rank,
        top=(TokenProb(5, "a", 0.37, -1.0), TokenProb(6, "b", 0.2, -1.6)), token="a",
        probabilities=probabilities,
    )  # fmt: skip


def test_remote_step_says_the_processed_distribution_is_not_reported() -> None:
    text = TokenPanel()._probabilities(step("server-raw"), None).plain
    assert "from the model server" in text
    assert "after processors: not reported by the server" in text
    assert "below the alternatives" not in text


def test_remote_rank_past_the_alternatives_says_so() -> None:
    text = TokenPanel()._probabilities(step("server-raw", rank=3), None).plain
    assert "rank 3 (below the alternatives sent)" in text


def test_local_step_keeps_its_after_processors_line() -> None:
    text = TokenPanel()._probabilities(step("local"), None).plain
    assert "after processors p=" in text and "server" not in text


class RemoteModelSession(FakeSession):
    """Scripted turns, reported as a model server's (ModelInfo.remote)."""

    def model_info(self) -> ModelInfo | None:
        return ModelInfo(name="openai:http://127.0.0.1:1/v1#gpt2", context_length=1024, remote=True)

    def turn(self, text: str, **kwargs: Any) -> Iterator[ChatEvent]:
        """As a session with a model server: TurnDone says the answer ran ungrounded."""
        for event in super().turn(text, **kwargs):
            if isinstance(event, TurnDone):
                ran = (kwargs.get("decoding") or DecodingSettings()).replace(grounding="off")
                event = dataclasses.replace(event, decoding=ran)
            yield event


@pytest.mark.asyncio
async def test_header_says_a_servers_numbers_are_neither_fp32_here_nor_grounded(
    tmp_path: Path,
) -> None:
    app = app_of(RemoteModelSession(tmp_path / "history.db"), tmp_path)
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_until(pilot, app.loaded.is_set)
        await wait_until(pilot, lambda: "server logprobs" in str(app.header.render()))
        app.decoding = DecodingSettings(precision="fast")  # no int8 tag for a server either
        await pilot.pause()
        shown = str(app.header.render())
        assert "no grounding" in shown and "fp32" not in shown and "int8" not in shown
        app.decoding = DecodingSettings(grounding="copy")
        await send(pilot, "what does greedy decoding do?")
        block = await answered(pilot)
        assert block.message is not None
        label = str(block.message.border_subtitle)
        assert "greedy" in label and "copy" not in label and "λ" not in label, label
