"""A stream its caller stops iterating must not wedge the engine (issue 13 item 5): the lock
is held per step, never across a yield, and a stream can be closed (or used as a context
manager), giving its KV cache back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from assistant.core.decoding import DecodingSettings
from assistant.core.engine import Engine

PROMPT = "The temperature divides the logits before the softmax, so"
SETTINGS = DecodingSettings(max_new_tokens=10)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load(None, allow_fallback=False, threads=1)


def finishes(fn: Callable[[], Any], timeout: float = 60.0) -> bool:
    """Run ``fn`` in a daemon thread: a wedged engine makes this False instead of hanging."""
    worker = threading.Thread(target=fn, daemon=True)
    worker.start()
    worker.join(timeout)
    return not worker.is_alive()


def test_after_next_of_an_abandoned_stream_in_the_same_thread(engine: Engine) -> None:
    left: list[int] = []

    def scenario() -> None:
        abandoned = iter(engine.stream(PROMPT, SETTINGS))
        next(abandoned)  # kept referenced, never finished
        engine.generate(PROMPT, SETTINGS)
        engine.score(PROMPT)
        engine.next_token_distribution(PROMPT)
        left.append(len(list(abandoned)))  # and it can still go on

    assert finishes(scenario)
    assert left == [SETTINGS.max_new_tokens - 1]


def test_after_next_of_an_abandoned_stream_from_another_thread(engine: Engine) -> None:
    abandoned = iter(engine.stream(PROMPT, SETTINGS))
    next(abandoned)
    assert finishes(lambda: engine.generate(PROMPT, SETTINGS))
    assert finishes(lambda: engine.score(PROMPT))
    assert finishes(lambda: engine.next_token_distribution(PROMPT))


def test_after_a_for_loop_left_with_break(engine: Engine) -> None:
    stream = engine.stream(PROMPT, SETTINGS)
    for _ in stream:
        break
    assert stream.finish_reason is None
    assert finishes(lambda: engine.generate(PROMPT, SETTINGS))

    def same_thread() -> None:
        kept = engine.stream(PROMPT, SETTINGS)
        for _ in kept:
            break
        engine.generate(PROMPT, SETTINGS)

    assert finishes(same_thread)


def test_interleaved_streams_each_give_the_fresh_answer(engine: Engine) -> None:
    fresh = [s.token_id for s in engine.generate(PROMPT, SETTINGS).steps]
    one, two = engine.stream(PROMPT, SETTINGS), engine.stream(PROMPT, SETTINGS)
    a, b = iter(one), iter(two)
    got_a, got_b = [], []
    for _ in range(SETTINGS.max_new_tokens):
        got_a.append(next(a).token_id)
        got_b.append(next(b).token_id)
    assert got_a == fresh and got_b == fresh


def test_close_and_context_manager_give_the_cache_back(engine: Engine) -> None:
    engine.forget_prefix()
    with engine.stream(PROMPT, SETTINGS, cache_key="cm") as stream:
        next(iter(stream))
    assert "cm" in engine.prefixes.lengths()  # closed: the cache went back
    again = engine.stream(PROMPT, SETTINGS, cache_key="cm")
    list(again)
    assert again.reused_prompt_tokens == len(again.prompt_ids) - 1
    unstarted = engine.stream(PROMPT, SETTINGS)
    unstarted.close()  # closing a stream that never started is harmless
    assert finishes(lambda: engine.generate(PROMPT, SETTINGS))
