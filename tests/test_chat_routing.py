"""The chat's router: the session's known files and call cap, and the similarity stage only
when the settings ask for it and with the embedding model its thresholds were calibrated for."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from assistant.chat.components import Components
from assistant.chat.routing import TurnRouter
from assistant.settings import Settings
from assistant.tools.intent_examples import CALIBRATED_EMBED_MODEL


@dataclass
class NamedEmbedder:
    """Just what the router reads of an Embedder: its name and encode."""

    name: str
    calls: list[list[str]] = field(default_factory=list)

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(texts)
        return np.ones((len(texts), 4), dtype=np.float32)


@dataclass
class Parts:
    """What TurnRouter asks of the session's Components."""

    loaded: Any = None
    files: list[str] = field(default_factory=lambda: ["notes/decoding.md"])
    cap: int = 3
    settings: Settings = field(
        default_factory=lambda: Settings.model_validate({"router_similarity": True})
    )

    def embedder(self) -> Any:
        return self.loaded

    def known_files(self) -> list[str]:
        return self.files

    def max_calls_per_turn(self) -> int:
        return self.cap


def _router(parts: Parts) -> TurnRouter:
    return TurnRouter(cast(Components, parts))


def test_the_similarity_stage_is_off_unless_the_settings_ask_for_it() -> None:
    parts = Parts(
        loaded=NamedEmbedder(CALIBRATED_EMBED_MODEL), settings=Settings.model_validate({})
    )
    assert not _router(parts).router().guesses_intents


def test_only_the_calibrated_embedder_feeds_the_similarity_stage() -> None:
    parts = Parts()
    router = _router(parts)
    assert not router.router().guesses_intents  # no embedder: rules only
    parts.loaded = NamedEmbedder("/models/tiny-test-embedder")
    assert not router.router().guesses_intents  # thresholds mean nothing for this model
    parts.loaded = NamedEmbedder(CALIBRATED_EMBED_MODEL)
    assert router.router().guesses_intents
    assert router.router() is router.router()  # built once per embedder


def test_the_session_routes_with_its_files_and_cap() -> None:
    parts = Parts(cap=1)
    calls, _ = _router(parts).route("open decoding.md")
    assert calls[0].arguments == {"path": "notes/decoding.md"}
    calls, why = _router(parts).route("What is 1+1? What is 2+2?")
    assert len(calls) == 1 and "at most 1 per turn" in why


def test_the_examples_are_embedded_once_not_per_turn() -> None:
    embedder = NamedEmbedder(CALIBRATED_EMBED_MODEL)
    router = _router(Parts(loaded=embedder))
    router.route("tell me something")
    router.route("and something else")
    sizes = [len(batch) for batch in embedder.calls]
    assert sizes[0] > 100 and sizes[1:] == [1, 1]  # the examples, then one per message
