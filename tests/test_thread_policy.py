"""Threads by phase (core/thread_policy.py): prefill on the free cores, decoding on its own
count, an explicit --threads fixing both; the load meter sees another process's load."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import torch

from assistant.core.cpu_load import LoadMeter
from assistant.core.decoding import DecodingSettings
from assistant.core.engine import Engine
from assistant.core.thread_policy import PhaseThreads, ThreadPolicy


def test_prefill_takes_the_free_cores_and_decoding_one() -> None:
    policy = ThreadPolicy(cores=4)
    assert policy.for_load(0.0) == PhaseThreads(4, 1, 0.0)
    assert policy.for_load(0.2).prefill == 4  # a trickle of load takes no core
    assert policy.for_load(1.0).prefill == 3
    assert policy.for_load(2.6).prefill == 1
    assert policy.for_load(9.0) == PhaseThreads(1, 1, 9.0)  # never below one


def test_caps_and_the_explicit_count() -> None:
    assert ThreadPolicy(cores=8, prefill=2, decode=3).for_load(0.0) == PhaseThreads(2, 3, 0.0)
    assert ThreadPolicy(cores=2, decode=2).for_load(1.0).decode == 1  # only one core free
    fixed = ThreadPolicy(fixed=3, cores=2)
    assert fixed.choose() == PhaseThreads(3, 3)  # the user's --threads, whatever the load


def test_the_meter_sees_another_process_spinning() -> None:
    meter = LoadMeter()
    spinner = subprocess.Popen(
        [sys.executable, "-c", "import time\nend = time.time() + 3\nwhile time.time() < end: pass"]
    )
    try:
        meter.others_busy()  # start the window once the spinner runs
        time.sleep(1.5)
        busy = meter.others_busy()
    finally:
        spinner.kill()
        spinner.wait()
    assert busy > 0.3  # one core spinning (less if the machine is oversubscribed)


class CountingRunner:
    """The engine's real runner, noting the thread count each forward pass ran with."""

    def __init__(self, inner: Any, seen: list[int]) -> None:
        self.inner, self.seen, self.name = inner, seen, inner.name

    def new_cache(self, capacity: int) -> Any:
        return self.inner.new_cache(capacity)

    def forward(self, ids: torch.Tensor, cache: Any) -> torch.Tensor:
        self.seen.append(torch.get_num_threads())
        return self.inner.forward(ids, cache)


def test_the_engine_runs_each_phase_on_its_count() -> None:
    engine = Engine.load(None, allow_fallback=False, threads=0)
    engine.thread_policy = ThreadPolicy(cores=2, prefill=2, decode=1)
    engine.thread_policy.choose = lambda: PhaseThreads(2, 1)  # type: ignore[method-assign]
    seen: list[int] = []
    engine.runners.exact = CountingRunner(engine.runners.exact, seen)
    before = torch.get_num_threads()
    stream = engine.stream("Top-k sampling keeps", DecodingSettings(max_new_tokens=4))
    list(stream)
    assert stream.threads == PhaseThreads(2, 1)
    assert seen == [2, 1, 1, 1]  # the prefill, then three decoding steps
    assert torch.get_num_threads() == before  # the caller's count is restored


def test_explicit_threads_fix_both_phases() -> None:
    engine = Engine.load(None, allow_fallback=False, threads=1)
    seen: list[int] = []
    engine.runners.exact = CountingRunner(engine.runners.exact, seen)
    stream = engine.stream("Top-k sampling keeps", DecodingSettings(max_new_tokens=3))
    list(stream)
    assert stream.threads == PhaseThreads(1, 1)
    assert set(seen) == {1}
