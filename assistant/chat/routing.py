"""The chat's router: the rules, plus intent guesses from the session's embedder.

The similarity stage is opt-in (``router_similarity``): measured on the held-out messages it
added no correct call and made two false ones. Its thresholds are calibrated for one embedding
model (all-MiniLM-L6-v2, ``CALIBRATED_EMBED_MODEL``), so only that model feeds it; with any
other embedder, or none, the chat routes by rules alone. The router is rebuilt when the embedder
changes, and embeds its example requests once, on the first turn that uses them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.chat.components import Components

if TYPE_CHECKING:
    from assistant.rag.embedder import Embedder
    from assistant.tools.plan import PlannedCall
    from assistant.tools.router import Router


class TurnRouter:
    """Routes a turn's text with the session's known files, call cap and embedder."""

    def __init__(self, parts: Components) -> None:
        self._parts = parts
        self._built: tuple[Embedder | None, Router] | None = None

    def route(self, text: str) -> tuple[list[PlannedCall], str]:
        return self.router().route(
            text,
            known_files=self._parts.known_files(),
            max_calls=self._parts.max_calls_per_turn(),
        )

    def router(self) -> Router:
        from assistant.tools.intent_examples import CALIBRATED_EMBED_MODEL
        from assistant.tools.router import Router

        embedder = self._parts.embedder()
        if self._built is None or self._built[0] is not embedder:
            calibrated = (
                self._parts.settings.router_similarity
                and embedder is not None
                and embedder.name == CALIBRATED_EMBED_MODEL
            )
            embed = embedder.encode if embedder is not None and calibrated else None
            self._built = (embedder, Router(embed))
        return self._built[1]
