"""The language-model engine: no retrieval, no UI."""

from assistant.core.decoding import PRESETS, DecodingSettings, build_processors, preset
from assistant.core.engine import Engine, GenerationStream
from assistant.core.models import LoadedModel, load_model
from assistant.core.types import Generation, Score, TokenProb, TokenStep

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
