"""The language-model engine: no retrieval, no UI.

Attributes load lazily (PEP 562): importing ``assistant.core.types`` for the plain records
must not pull in torch and transformers, which cost seconds at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.core.decoding import PRESETS, DecodingSettings, preset
    from assistant.core.engine import Engine, GenerationStream
    from assistant.core.models import LoadedModel, load_model
    from assistant.core.processors import build_processors
    from assistant.core.types import Generation, Score, TokenProb, TokenStep

_WHERE = {
    "PRESETS": "decoding",
    "DecodingSettings": "decoding",
    "build_processors": "processors",
    "preset": "decoding",
    "Engine": "engine",
    "GenerationStream": "engine",
    "LoadedModel": "models",
    "load_model": "models",
    "Generation": "types",
    "Score": "types",
    "TokenProb": "types",
    "TokenStep": "types",
}

__all__ = [
    "PRESETS",
    "DecodingSettings",
    "Engine",
    "Generation",
    "GenerationStream",
    "LoadedModel",
    "Score",
    "TokenProb",
    "TokenStep",
    "build_processors",
    "load_model",
    "preset",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'assistant.core' has no attribute {name!r}")
    return getattr(importlib.import_module(f"assistant.core.{module}"), name)
