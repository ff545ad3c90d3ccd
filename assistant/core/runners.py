"""The runners an engine decodes with: its exact runner, and the int8 twin for fast mode.

``prefer``: "auto" takes the lean GPT-2 forward where it reproduces the model (measured
faster per token; benchmarks/lean_forward.py) and HF's forward otherwise; "hf" always takes
HF's (the reference path); "lean" insists on the lean one and says why it cannot.
"""

from __future__ import annotations

import copy
import logging
import threading
from typing import Any

from assistant.core.models import LoadedModel, quantize_int8
from assistant.core.runner import HFRunner, Runner
from assistant.errors import UsageError

log = logging.getLogger(__name__)

RUNNER_CHOICES = ("auto", "hf", "lean")


def runner_for(model: Any, prefer: str = "auto") -> Runner:
    if prefer not in RUNNER_CHOICES:
        raise UsageError(f"invalid forward {prefer!r}: choose one of {', '.join(RUNNER_CHOICES)}")
    if prefer == "hf":
        return HFRunner(model)
    from assistant.core.lean_gpt2 import LeanRunner, unsupported_reason

    reason = unsupported_reason(model)
    if reason is None:
        return LeanRunner(model)
    if prefer == "lean":
        raise UsageError(f"the lean forward cannot run this model: {reason}")
    log.info("using Hugging Face's forward: %s", reason)
    return HFRunner(model)


class RunnerSet:
    """``exact`` decodes the loaded weights; ``int8()`` builds the int8 twin on first use (a
    copy of the model with dynamic int8 Linear weights: ~1/4 of the fp32 weight bytes)."""

    def __init__(self, loaded: LoadedModel, prefer: str = "auto") -> None:
        self.loaded = loaded
        self.prefer = prefer
        self.exact = runner_for(loaded.model, prefer)
        self._int8: Runner | None = self.exact if loaded.quantized else None
        self._lock = threading.Lock()

    def int8(self) -> Runner:
        with self._lock:
            if self._int8 is None:
                twin = quantize_int8(copy.deepcopy(self.loaded.model))
                twin.eval()
                # The twin must write the same cache as the exact runner: same family.
                self._int8 = runner_for(twin, "hf" if self.exact.name == "hf" else self.prefer)
            return self._int8

    @property
    def int8_ready(self) -> bool:
        return self._int8 is not None
