"""What a session says about its generator: the model's name, context and whether the bundled
fallback stands in for the configured one (the TUI header, ``ask --json``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assistant.core.remote_spec import is_remote_engine

if TYPE_CHECKING:
    from assistant.core.engine import Engine


@dataclass(frozen=True)
class ModelInfo:
    """The generator a session uses, or (``loaded`` False) only the tokenizer that counted a
    dry run's prompt."""

    name: str
    context_length: int
    loaded: bool = True
    source: str | None = None  # what was loaded: an HF id or a directory
    fallback: bool = False  # the bundled model stands in for the configured one
    notice: str | None = None  # one line for the user when the fallback is in use
    remote: bool = False  # a model server computes the probabilities, not this process

    @classmethod
    def of_engine(cls, engine: Engine) -> ModelInfo:
        loaded = engine.loaded
        return cls(
            name=loaded.name,
            context_length=engine.context_length,
            source=loaded.source,
            fallback=loaded.is_fallback,
            notice=loaded.notice,
            remote=is_remote_engine(engine),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``ask --json`` prints: a tokenizer alone has only a name and a context."""
        if not self.loaded:
            return {"model": self.name, "context_length": self.context_length}
        return {
            "model": self.name,
            "source": self.source,
            "fallback": self.fallback,
            "notice": self.notice,
            "remote": self.remote,
            "context_length": self.context_length,
        }
