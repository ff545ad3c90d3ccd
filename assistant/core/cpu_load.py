"""How many cores other processes are using right now (Linux ``/proc/stat``).

OpenMP threads that must wait for a busy core stall every matmul: on a loaded 2-core machine
GPT-2 small decoded at 7.0 tok/s on 1 thread and 1.5 on 2. So before each prefill the engine
asks how busy the machine is *apart from us* and never starts more threads than are free.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

_PROC_STAT = "/proc/stat"
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# Closer samples than this say more about scheduling noise than about load: reuse the last.
_MIN_WINDOW_S = 0.25


@dataclass(frozen=True)
class Sample:
    wall: float
    busy: float  # seconds of CPU time all processes spent busy, summed over cores
    own: float  # seconds of CPU time this process spent (every thread)


def _machine_busy_seconds() -> float | None:
    try:
        with open(_PROC_STAT, encoding="ascii") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal …: busy = all but idle and iowait.
    values = [int(v) for v in fields[1:9]]
    busy = sum(values) - values[3] - values[4]
    return busy / _TICKS


def take_sample() -> Sample | None:
    busy = _machine_busy_seconds()
    if busy is None:
        return None
    times = os.times()
    return Sample(time.monotonic(), busy, times.user + times.system)


class LoadMeter:
    """Cores busy with other processes, averaged since the previous reading."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = take_sample()
        self._estimate = 0.0

    def others_busy(self) -> float:
        """Cores' worth of CPU other processes used since the last call (0 where unknown)."""
        now = take_sample()
        with self._lock:
            last = self._last
            if now is None or last is None:
                return 0.0
            window = now.wall - last.wall
            if window < _MIN_WINDOW_S:
                return self._estimate
            others = (now.busy - last.busy) - (now.own - last.own)
            self._estimate = max(0.0, others / window)
            self._last = now
            return self._estimate


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
