"""Pilot tests of the inspector's look inside the model: the logit lens (l) and the attention
strip (a) for the cursor's token, computed in a worker over a real (tiny) model."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from assistant.core.attention import attention_at
from assistant.core.engine import Engine
from assistant.core.lens import logit_lens
from assistant.tui.app import AssistantApp
from assistant.tui.screens.inside_model import AttentionScreen, LensScreen
from assistant.tui.widgets.assistant_message import AssistantMessage
from tests.test_tui_chat import SIZE, answered, make_app, send, wait_until
from tests.tui_fakes import PROMPT

pytestmark = pytest.mark.asyncio


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


def shown_text(app: AssistantApp, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def test_lens_view_for_the_cursors_token(tmp_path: Path, tiny_engine: Engine) -> None:
    app, _ = make_app(tmp_path, engine=tiny_engine)
    async with app.run_test(size=SIZE) as pilot:
        message = await token_view_at(pilot, 2)
        await pilot.press("l")
        await wait_until(pilot, lambda: isinstance(app.screen, LensScreen))
        screen = app.screen
        assert isinstance(screen, LensScreen)
        await wait_until(pilot, lambda: screen.result is not None)
        lens = screen.result
        ids = tiny_engine.encode(PROMPT) + [s.token_id for s in message.steps]
        expected = logit_lens(tiny_engine, ids, position=len(tiny_engine.encode(PROMPT)) + 1)
        assert lens.chosen_id == message.steps[2].token_id == expected.chosen_id
        assert [layer.chosen_rank for layer in lens.layers] == [
            layer.chosen_rank for layer in expected.layers
        ]
        # The final row is what the model decoded from: its rank is the step's raw rank.
        assert lens.layers[-1].chosen_rank == message.steps[2].rank
        table = shown_text(app, "#lens-view")
        for name in ("embeddings", "block 1", "block 2 (output)"):
            assert name in table
        assert "tokens read" in shown_text(app, "#inside-status")
        await pilot.press("right")
        await wait_until(pilot, lambda: screen.result is not lens)
        assert screen.result.chosen_id == message.steps[3].token_id
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, LensScreen))
        assert message.cursor == 3 and message.has_focus


async def test_attention_view_layers_heads_and_mean(tmp_path: Path, tiny_engine: Engine) -> None:
    app, _ = make_app(tmp_path, engine=tiny_engine)
    async with app.run_test(size=SIZE) as pilot:
        message = await token_view_at(pilot, 1)
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, AttentionScreen))
        screen = app.screen
        assert isinstance(screen, AttentionScreen)
        await wait_until(pilot, lambda: screen.result is not None)
        attention = screen.result
        prompt_ids = tiny_engine.encode(PROMPT)
        assert attention.position == len(prompt_ids)  # the pass that chose answer token 1
        ids = prompt_ids + [s.token_id for s in message.steps]
        direct = attention_at(tiny_engine, ids, position=len(prompt_ids))
        assert attention.weights == direct.weights
        assert "layer 1/2 · mean of the heads" in shown_text(app, "#attention-view")
        await pilot.press("right_square_bracket", "full_stop")
        await pilot.pause()
        assert (screen.at_layer, screen.at_head) == (2, 1)
        assert "layer 2/2 · head 1/2" in shown_text(app, "#attention-view")
        await pilot.press("full_stop", "full_stop", "comma")
        await pilot.pause()
        assert screen.at_head == 1  # clamped at 2, then back one
        await pilot.press("m")
        await pilot.pause()
        assert screen.at_head is None
        assert "layer 2/2 · mean of the heads" in shown_text(app, "#attention-view")
        strip = app.screen.query_one("#attention-view").render()
        assert message.steps[0].text.strip() in str(strip)  # the strip shows the text
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, AttentionScreen))


async def test_computed_in_a_worker_while_the_ui_responds(
    tmp_path: Path, tiny_engine: Engine
) -> None:
    app, _ = make_app(tmp_path, engine=tiny_engine)
    async with app.run_test(size=SIZE) as pilot:
        await token_view_at(pilot, 1)
        tiny_engine.lock.acquire()  # the model is busy: the view must wait without blocking
        try:
            await pilot.press("a")
            await wait_until(pilot, lambda: isinstance(app.screen, AttentionScreen))
            screen = app.screen
            assert isinstance(screen, AttentionScreen)
            await pilot.press("right_square_bracket")  # keys are still handled
            await pilot.pause()
            assert screen.result is None
            assert "computing" in shown_text(app, "#inside-status")
        finally:
            tiny_engine.lock.release()
        await wait_until(pilot, lambda: screen.result is not None)
        await pilot.press("escape")


async def test_keys_need_the_token_view(tmp_path: Path, tiny_engine: Engine) -> None:
    app, _ = make_app(tmp_path, engine=tiny_engine)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "greedy?")
        message = (await answered(pilot)).message
        assert message is not None
        message.focus()
        await pilot.press("l")
        await pilot.pause()
        assert not isinstance(app.screen, LensScreen)
        assert any("token view" in str(n.message) for n in app._notifications)
