"""An answer as the chat shows it: the generated text with the source markers " [n]" after
copied sentences (assistant/chat/citations.py, derived from token provenance).

Only the display has the markers; the message's own text (copied, stored) stays as generated.
Parts are kept apart, so the markers can be styled and never confused with a "[1]" the model
wrote itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from assistant.chat.citations import Citer
from assistant.core.types import TokenStep


class CitedText:
    """Feed steps as they stream, then ``finish()``; ``parts`` are (text, is_marker)."""

    def __init__(self, steps: Iterable[TokenStep] = ()) -> None:
        self._citer = Citer()
        self.parts: list[tuple[str, bool]] = []
        self.finished = False
        self.push(steps)

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.parts)

    def push(self, steps: Iterable[TokenStep]) -> None:
        for step in steps:
            out = self._citer.push(step)
            # Citer returns the marker of the sentence this token closed, then the token.
            self._add(out[: len(out) - len(step.text)], True)
            self._add(step.text, False)

    def finish(self) -> None:
        """The last sentence's marker (once)."""
        if not self.finished:
            self.finished = True
            self._add(self._citer.finish(), True)

    def _add(self, text: str, marker: bool) -> None:
        if not text:
            return
        if self.parts and self.parts[-1][1] == marker:
            self.parts[-1] = (self.parts[-1][0] + text, marker)
        else:
            self.parts.append((text, marker))
