"""Source markers for grounded answers, derived from token provenance, never from the model.

A sentence of the answer whose tokens were mostly copied (at least ``COPIED_SHARE`` of them)
gets the ``[n]`` of the passage(s) it was copied from after its end: "… of the mass. [2]".
``Citer`` does this as tokens stream (a marker is released once the next token shows that the
sentence has ended, or at the end); ``cite`` does it for a finished answer.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from assistant.core.types import TokenStep

COPIED_SHARE = 0.5
_WESTERN_END = re.compile(r"[.!?…][\"'”’)»\]]*$")
_CJK_END = re.compile(r"[。！？][」』）]*$")


@dataclass(frozen=True)
class Citation:
    """One answer sentence and the passages (prompt numbers) it was copied from."""

    sentence: str
    passages: tuple[int, ...]
    lines: tuple[int, ...]


@dataclass
class _Sentence:
    text: str = ""
    tokens: int = 0
    copied: Counter[int] = field(default_factory=Counter)
    lines: list[int] = field(default_factory=list)


class Citer:
    """Feed answer steps in order; the returned strings, joined, are the cited answer."""

    def __init__(self) -> None:
        self.citations: list[Citation] = []
        self._current = _Sentence()

    def push(self, step: TokenStep) -> str:
        out = ""
        if self._current.text.strip() and self._ends(step.text):
            out = self._close()
        current = self._current
        current.text += step.text
        current.tokens += 1
        provenance = step.provenance
        if provenance is not None and provenance.copied and provenance.passage is not None:
            current.copied[provenance.passage] += 1
            if provenance.line is not None:
                current.lines.append(provenance.line)
        return out + step.text

    def finish(self) -> str:
        """The marker of the last sentence (if it was copied)."""
        return self._close() if self._current.text.strip() else ""

    def _ends(self, next_text: str) -> bool:
        """The current sentence has ended when it stops on a full stop and the next token
        starts afresh (whitespace after a Western stop; anything after a CJK one)."""
        text = self._current.text.rstrip()
        if _CJK_END.search(text):
            return True
        return bool(_WESTERN_END.search(text)) and (not next_text or next_text[0].isspace())

    def _close(self) -> str:
        current, self._current = self._current, _Sentence()
        copied = sum(current.copied.values())
        if not copied or copied < COPIED_SHARE * current.tokens:
            return ""
        passages = tuple(sorted(current.copied))
        lines = tuple(sorted(set(current.lines)))
        self.citations.append(Citation(current.text.strip(), passages, lines))
        return " " + "".join(f"[{n}]" for n in passages)


def cite(steps: Iterable[TokenStep]) -> tuple[str, list[Citation]]:
    """The answer with its source markers, and the cited sentences."""
    citer = Citer()
    text = "".join(citer.push(step) for step in steps) + citer.finish()
    return text, citer.citations


__all__ = ["COPIED_SHARE", "Citation", "Citer", "cite"]
