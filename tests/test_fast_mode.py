"""Fast mode (DecodingSettings.precision): the prompt (or everything) through the int8 twin,
labelled as approximate wherever probabilities are shown; exact stays the fp32 numbers."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from assistant.cli.decoding_flags import add_decoding_flags, decoding_from_args
from assistant.core.decoding import DecodingSettings
from assistant.core.engine import Engine
from assistant.core.types import PROBABILITY_SOURCES, TokenStep
from assistant.errors import UsageError
from assistant.tui.answer_labels import describe_decoding
from tests.test_tui_chat import SIZE, answered, make_app, send, wait_until

PROMPT = "Greedy decoding picks the most likely token at every step, so the answer"
SETTINGS = DecodingSettings(max_new_tokens=16)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load(None, allow_fallback=False, threads=1)


def test_each_precision_labels_its_steps_and_stays_close(engine: Engine) -> None:
    exact = engine.stream(PROMPT, SETTINGS)
    steps = list(exact)
    assert exact.precision == "exact" and {s.probabilities for s in steps} == {"local"}
    for precision, label in (("fast-prefill", "int8-prefill"), ("fast", "int8")):
        stream = engine.stream(PROMPT, SETTINGS.replace(precision=precision))
        fast = list(stream)
        assert stream.precision == precision
        assert {s.probabilities for s in fast} == {label}
        assert label in PROBABILITY_SOURCES
        # Approximate, not arbitrary: the first token's distribution is close to exact.
        assert fast[0].token_id == steps[0].token_id
        assert abs(fast[0].logprob - steps[0].logprob) < 0.1
        assert any(abs(a.logprob - b.logprob) > 1e-7 for a, b in zip(fast, steps, strict=False))
    assert engine.runners.int8_ready


def test_an_int8_model_says_so_whatever_the_setting() -> None:
    quantized = Engine.load(None, allow_fallback=False, threads=1, quantize="int8")
    stream = quantized.stream(PROMPT, SETTINGS)
    assert {s.probabilities for s in stream} == {"int8-model"}
    assert stream.precision == "int8-model"


def test_the_setting_is_validated_stored_and_a_flag() -> None:
    import argparse

    with pytest.raises(UsageError, match="'precision'"):
        DecodingSettings(precision="turbo")  # type: ignore[arg-type]
    stored = DecodingSettings(precision="fast").to_dict()
    assert DecodingSettings.from_mapping(stored).precision == "fast"
    parser = argparse.ArgumentParser()
    add_decoding_flags(parser)
    args = parser.parse_args(["--precision", "fast-prefill"])
    assert decoding_from_args(args).precision == "fast-prefill"
    assert "int8 prefill" in describe_decoding(DecodingSettings(precision="fast-prefill"))
    assert "int8" not in describe_decoding(DecodingSettings())


def test_steps_round_trip_their_label() -> None:
    step = TokenStep(0, 5, "a", -0.5, -0.5, 1, probabilities="int8-prefill")
    assert TokenStep.from_dict(step.to_dict()).probabilities == "int8-prefill"
    assert math.isclose(step.prob, math.exp(-0.5))


@pytest.mark.asyncio
async def test_header_and_token_view_say_the_numbers_are_approximate(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "what does greedy decoding do?")
        block = await answered(pilot)
        assert "exact fp32" in str(app.header.render())
        app.decoding = DecodingSettings(precision="fast-prefill")
        await wait_until(pilot, lambda: "int8 prefill" in str(app.header.render()))
        message = block.message
        assert message is not None
        step = dataclasses.replace(message.steps[0], probabilities="int8-prefill")
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: app.token_panel.has_class("-shown"))
        app.token_panel.show_step(step)
        await pilot.pause()
        chosen = str(app.query_one("#token-chosen").render())
        assert "approximate" in chosen and "int8" in chosen
        app.token_panel.show_step(message.steps[0])  # an exact step: no such line
        await pilot.pause()
        assert "approximate" not in str(app.query_one("#token-chosen").render())
