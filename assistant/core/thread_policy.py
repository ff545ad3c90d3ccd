"""Threads per phase: prefill is compute-bound and parallel, decoding is bandwidth-bound.

Measured on this 2-core machine (GPT-2 small, fp32): a second thread cut the first token of
a 512-token prompt from 172 to 112 ms but did not speed decoding (34.3 vs 34.0 tok/s). So the
prefill gets every core no other process is using, decoding the count that measures fastest
(one here, which leaves a core for the UI and the embedder); an explicit ``--threads`` fixes
both. ``benchmarks/latency.py`` measures the policy quiet and under load.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from assistant.core.cpu_load import LoadMeter, cpu_count

DEFAULT_DECODE_THREADS = 1


@dataclass(frozen=True)
class PhaseThreads:
    prefill: int
    decode: int
    others_busy: float = 0.0  # cores other processes were using when this was chosen

    def to_dict(self) -> dict[str, float]:
        return {"prefill": self.prefill, "decode": self.decode, "others_busy": self.others_busy}


class ThreadPolicy:
    """``fixed`` > 0: both phases use exactly that many threads (the user's ``--threads``).
    Otherwise ``prefill`` (0 = every free core) and ``decode`` (0 = the default) are caps,
    lowered so that our threads never outnumber the cores other processes leave free."""

    def __init__(
        self, *, fixed: int = 0, prefill: int = 0, decode: int = 0, cores: int | None = None
    ) -> None:
        self.fixed, self.prefill, self.decode = fixed, prefill, decode
        self.cores = cores or cpu_count()
        self._meter = LoadMeter()

    def choose(self) -> PhaseThreads:
        if self.fixed > 0:
            return PhaseThreads(self.fixed, self.fixed)
        others = self._meter.others_busy()
        return self.for_load(others)

    def for_load(self, others_busy: float) -> PhaseThreads:
        # A core counts as taken once another process uses more than a quarter of it.
        free = max(1, self.cores - math.floor(others_busy + 0.75))
        prefill = min(self.prefill or free, free)
        decode = min(self.decode or DEFAULT_DECODE_THREADS, free)
        return PhaseThreads(max(1, prefill), max(1, decode), round(others_busy, 2))
