"""The engine for the configured model: in-process for a model name or directory, remote for
``openai:<base_url>#<model>``. The one place that tells them apart."""

from __future__ import annotations

from typing import Any

from assistant.core.engine import Engine
from assistant.core.remote_spec import GROUNDING_NOTICE, is_remote_model

# What a caller may say once when a remote engine is chosen (chat notice, CLI note).
REMOTE_NOTICES = (
    GROUNDING_NOTICE,
    "probabilities come from the model server: the raw distribution only",
)


def engine_from_settings(settings: Any) -> Engine:
    """Engine.from_settings, or a RemoteEngine for a remote model name (which falls back to
    nothing: a dead server is a one-line RemoteServerError, never the bundled model)."""
    if is_remote_model(settings.model):
        from assistant.core.remote_engine import RemoteEngine

        return RemoteEngine.from_name(settings.model)
    return Engine.from_settings(settings)
