"""The plain inputs of one decode: what a strategy (sampler, beam) needs and nothing more.

Strategies take a DecodeRequest and give back their steps and finish reason; they never see
the engine or the stream object that reports on them, so core has no import cycle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import LogitsProcessorList

    from assistant.core.decode_plan import DecodePlan
    from assistant.core.decoding import DecodingSettings
    from assistant.core.grounding import PassageCopyProcessor
    from assistant.core.tokens import TokenTexts


@dataclass(frozen=True)
class DecodeRequest:
    model: Any
    prompt_ids: list[int]
    settings: DecodingSettings
    stop_event: threading.Event
    token_texts: TokenTexts
    decode: Callable[[Sequence[int]], str]
    eos_token_id: int | None
    processors: LogitsProcessorList
    plan: DecodePlan  # runners, cache and threads (greedy and sampling; beam uses ``model``)
    copy: PassageCopyProcessor | None = None  # also in ``processors``; asked for provenance
