"""The decoding a chat answer gets unless told otherwise, in ``assistant ask`` and the chat app.

Greedy (reproducible), long enough for a paragraph, five alternatives per token for the token
view, and the answer grounded in the retrieved passages.
"""

from __future__ import annotations

import secrets
from typing import Any

from assistant.chat.template import STOP_STRINGS
from assistant.core.decoding import DecodingSettings

DEFAULT_DECODING = DecodingSettings(
    strategy="greedy", max_new_tokens=96, top_logprobs=5, grounding="copy"
)


def default_decoding_fields() -> dict[str, Any]:
    """The fields DEFAULT_DECODING sets apart from DecodingSettings(): a command's defaults,
    applied when no preset is named and overridden by explicit flags."""
    base = DecodingSettings().to_dict()
    return {k: v for k, v in DEFAULT_DECODING.to_dict().items() if v != base[k]}


def turn_decoding(chosen: DecodingSettings) -> DecodingSettings:
    """The settings a turn runs with: the template's stop strings added, and a sampled
    answer given the seed that reproduces it (it is stored with the answer)."""
    stops = tuple(dict.fromkeys((*chosen.stop, *STOP_STRINGS)))
    seed = chosen.seed
    if seed is None and chosen.strategy == "sample":
        seed = secrets.randbelow(2**31)
    return chosen.replace(stop=stops, seed=seed)
