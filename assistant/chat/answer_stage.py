"""The generation stage of a turn: the budgeted prompt streamed through the engine, grounded
in the prompt's passages, every step timed; and the sentence scorer grounding uses."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from assistant.chat.events import ChatEvent, TokenGenerated
from assistant.chat.grounding import grounding_input
from assistant.chat.stages import TurnFailed, timed
from assistant.chat.turn_record import TurnRecord

if TYPE_CHECKING:
    from assistant.core.engine import Engine
    from assistant.core.relevance import Relevance
    from assistant.rag.retriever import Retriever

log = logging.getLogger(__name__)


def stream_answer(
    record: TurnRecord,
    engine: Engine,
    stop: threading.Event,
    relevance: Relevance | None,
    cache_key: str | None = None,
) -> Iterator[ChatEvent]:
    """Yield TokenGenerated per step; the answer, finish reason and timings go on ``record``.
    ``cache_key`` keeps the KV cache for the conversation's next decode (regenerate, fork)."""
    assert record.budget is not None
    prompt = record.budget.prompt
    grounding = grounding_input(record.text, record.budget, relevance)
    stream = timed(
        record,
        "generation",
        lambda: engine.stream(prompt, record.decoding, stop, grounding, cache_key=cache_key),
    )
    record.decoding = stream.settings  # as it ran: a model server leaves grounding off
    if stream.truncated_prompt_tokens:  # the budget was wrong: never feed a cut prompt
        raise TurnFailed("prompt", "internal error: the budgeted prompt did not fit")
    iterator = iter(stream)
    while True:
        step = timed(record, "generation", lambda: next(iterator, None))
        if step is None:
            break
        if "ttft" not in record.timing:  # the first token the user sees
            record.timing["ttft"] = time.perf_counter() - record.started
        record.steps.append(step)
        yield TokenGenerated(step)
    generation = stream.result()
    # The engine's own clock: prompt in → first token decided (a token that might begin
    # a stop string is shown a little later, which ttft includes).
    if stream.first_token_seconds is not None:
        record.timing["prefill"] = stream.first_token_seconds
    record.reused_prompt_tokens = stream.reused_prompt_tokens
    record.precision = stream.precision
    record.answer = generation.text
    record.finish_reason = "cancelled" if stop.is_set() else generation.finish_reason
    record.model = engine.name


def configured_relevance(name: str, retriever: Callable[[], Retriever | None]) -> Relevance:
    """Grounding's sentence scorer named by ``grounding_relevance`` (measured with
    benchmarks/answer_rate.py --relevance); the embedding ones use the retriever's embedder."""
    from assistant.chat.relevance import relevance_named  # retrieval's lexical terms

    if name not in ("embedding", "hybrid"):
        return relevance_named(name)
    try:
        found = retriever()
        embedder = found.embedder if found is not None else None
    except Exception:  # no embedder to be had: word overlap still grounds the answer
        log.exception("no embedder for grounding relevance")
        embedder = None
    return relevance_named(name if embedder is not None else "overlap", embedder)
