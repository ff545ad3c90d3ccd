"""Fork an answer: keep its first tokens, swap in an alternative, let the model continue.

UI-free. The alternative's raw probability and rank come from the step it replaces (its
``top`` list), so the forked answer's token view is as complete as the original's.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Iterator, Sequence

from assistant.chat.history import HistoryStore
from assistant.core.decoding import DecodingSettings
from assistant.core.engine import Engine
from assistant.core.types import TokenStep
from assistant.errors import UsageError


def alternative_step(step: TokenStep, token_id: int, token_text: str) -> TokenStep:
    """The step as if the model had picked ``token_id`` at this position."""
    raw = {p.token_id: (rank, p) for rank, p in enumerate(step.top, 1)}
    processed = {p.token_id: p for p in step.top_processed}
    if token_id not in raw:
        raise UsageError("fork: that token is not among this position's recorded alternatives")
    rank, prob = raw[token_id]
    after = processed.get(token_id)
    return dataclasses.replace(
        step,
        token_id=token_id,
        text=token_text,
        token=token_text,
        logprob=prob.logprob,
        processed_logprob=after.logprob if after is not None else -math.inf,
        rank=rank,
    )


def fork_steps(
    engine: Engine,
    prompt: str,
    steps: Sequence[TokenStep],
    index: int,
    token_id: int,
    settings: DecodingSettings,
    stop_event: threading.Event | None = None,
) -> Iterator[TokenStep]:
    """Yield the alternative step at ``index``, then the model's continuation after it.

    The new answer is ``steps[:index]`` + these steps; continuation indices follow on, and the
    continuation's length is what remains of ``settings.max_new_tokens``.
    """
    if not 0 <= index < len(steps):
        raise UsageError(f"fork: no token at position {index}")
    first = alternative_step(steps[index], token_id, engine.token_texts.text(token_id))
    yield first
    prefix = prompt + "".join(s.text for s in steps[:index]) + first.text
    remaining = settings.max_new_tokens - index - 1
    if remaining < 1 or (stop_event is not None and stop_event.is_set()):
        return
    stream = engine.stream(prefix, settings.replace(max_new_tokens=remaining), stop_event)
    for offset, step in enumerate(stream, start=index + 1):
        yield dataclasses.replace(step, index=offset)


def store_fork(
    history: HistoryStore,
    conversation_id: int,
    original_message_id: int,
    text: str,
    steps: Sequence[TokenStep],
    settings: DecodingSettings,
    *,
    model: str | None = None,
    finish_reason: str = "length",
) -> int:
    """Keep the fork as a new branch: a sibling of the original answer (same parent).

    Returns the new message's id.
    """
    original = history.message(original_message_id)
    return history.add_message(
        conversation_id,
        "assistant",
        text,
        parent_id=original.parent_id if original.parent_id is not None else original.id,
        model=model,
        decoding=settings.to_dict(),
        seed=settings.seed,
        tokens=[step.to_dict() for step in steps],
        finish_reason=finish_reason,
    )
