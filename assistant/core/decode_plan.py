"""How one decode runs: which runner prefills and which decodes, the KV cache it starts from,
the threads of each phase, and who takes the cache back afterwards."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from assistant.core.runner import KVCache, Runner
from assistant.core.thread_policy import PhaseThreads

# What computed a decode's probabilities (Engine.precision_of) → what each of its steps says
# its numbers are (a key of types.PROBABILITY_SOURCES, shown wherever probabilities are).
STEP_PROBABILITIES = {
    "exact": "local",
    "fast-prefill": "int8-prefill",
    "fast": "int8",
    "int8-model": "int8-model",
}


@dataclass
class DecodePlan:
    prefill: Runner
    decode: Runner
    cache: KVCache  # already holds the first ``cache.length`` prompt ids (a kept prefix)
    threads: PhaseThreads
    precision: str = "exact"  # a key of STEP_PROBABILITIES
    # Called with the ids the cache holds once the decode ends, where a store keeps it.
    release: Callable[[list[int], KVCache], None] | None = None
    reused: int = 0  # prompt ids the cache held when the decode began

    @property
    def probabilities(self) -> str:
        """What each TokenStep's numbers are (a key of types.PROBABILITY_SOURCES)."""
        return STEP_PROBABILITIES[self.precision]
