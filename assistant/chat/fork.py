"""Fork an answer: keep its first tokens, swap in an alternative, let the model continue.

UI-free. The alternative's raw probability and rank come from the step it replaces (its
``top`` list), so the forked answer's token view is as complete as the original's. The fork
streams as the events of a turn and is stored as a sibling of the answer it forks.
"""

from __future__ import annotations

import dataclasses
import math
import sqlite3
import threading
from collections.abc import Generator, Iterator, Sequence
from typing import TYPE_CHECKING

from assistant.chat.events import ChatEvent, Notice, TokenGenerated, TurnDone, TurnError
from assistant.core.types import FinishReason, TokenStep
from assistant.errors import AssistantError, UsageError

if TYPE_CHECKING:
    from assistant.chat.branch import ConversationBranch
    from assistant.core.decoding import DecodingSettings
    from assistant.core.engine import Engine
    from assistant.core.grounding_input import GroundingInput


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
        provenance=None,  # the step's was the replaced token's; this one's was never computed
    )


def fork_steps(
    engine: Engine,
    prompt: str,
    steps: Sequence[TokenStep],
    index: int,
    token_id: int,
    settings: DecodingSettings,
    stop_event: threading.Event | None = None,
    cache_key: str | None = None,
    grounding: GroundingInput | None = None,
) -> Generator[TokenStep, None, FinishReason]:
    """Yield the alternative step at ``index``, then the model's continuation after it;
    return why the forked answer ended.

    The new answer is ``steps[:index]`` + these steps; continuation indices follow on, and the
    continuation's length is what remains of ``settings.max_new_tokens``. With the answer's
    ``cache_key`` only the ids after the kept prompt (and shared answer start) are fed.
    ``grounding`` (the answer's passages) grounds the continuation as the answer was, the
    tokens before it read as the answer so far.
    """
    if not 0 <= index < len(steps):
        raise UsageError(f"fork: no token at position {index}")
    first = alternative_step(steps[index], token_id, engine.token_texts.text(token_id))
    yield first
    prefix = prompt + "".join(s.text for s in steps[:index]) + first.text
    remaining = settings.max_new_tokens - index - 1
    if stop_event is not None and stop_event.is_set():
        return "cancelled"
    if remaining < 1:
        return "length"
    limited = settings.replace(max_new_tokens=remaining)
    # The answer's own tokens, not its text tokenised again: the kept KV prefix (prompt +
    # answer) then covers all of them, and grounding knows exactly where the answer begins.
    prompt_ids = engine.prompt_ids_of(prompt, cache_key)
    ids = prompt_ids + [s.token_id for s in steps[:index]] + [token_id]
    grounded = grounding if settings.grounding != "off" else None
    stream = engine.stream(
        prefix,
        limited,
        stop_event,
        grounded,
        cache_key,
        answer_start=len(prompt_ids),
        prompt_ids=ids,
    )
    with stream:
        for offset, step in enumerate(stream, start=index + 1):
            yield dataclasses.replace(step, index=offset)
    return stream.result().finish_reason


def fork_events(
    engine: Engine,
    branch: ConversationBranch,
    prompt: str,
    steps: Sequence[TokenStep],
    index: int,
    token_id: int,
    settings: DecodingSettings,
    *,
    message_id: int | None,
    stop_event: threading.Event,
    cache_key: str | None = None,
    grounding: GroundingInput | None = None,
) -> Iterator[ChatEvent]:
    """The fork as a turn's events: TokenGenerated per new step, then TurnDone with the
    stored fork's id (None when answer ``message_id`` is not stored), or TurnError."""
    new_steps = list(steps[:index])
    try:
        forked = fork_steps(
            engine, prompt, steps, index, token_id, settings, stop_event, cache_key, grounding
        )
        while True:
            try:
                step = next(forked)
            except StopIteration as done:
                ended: FinishReason = done.value
                break
            new_steps.append(step)
            yield TokenGenerated(step)
    except AssistantError as exc:
        yield TurnError("generation", str(exc))
        return
    text = "".join(s.text for s in new_steps)
    reason: FinishReason = "cancelled" if stop_event.is_set() else ended
    stored = None
    if message_id is not None:
        try:
            stored = branch.store_fork(
                message_id, text, new_steps, settings, model=engine.name, finish_reason=reason
            )
        except (AssistantError, OSError, sqlite3.Error) as exc:  # shown, just not kept
            yield Notice(f"the fork was not stored: {exc}", "warning")
    yield TurnDone(stored, text, reason)
