"""What grounding is given: the question and the prompt's passages as plain text. Plain data
(no torch), so the chat builds it without loading the engine's libraries."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.core.relevance import Relevance

_LABEL_LINE = re.compile(r":(\d+)(?:-\d+)?(?:\s|$)")


@dataclass(frozen=True)
class SourceText:
    """One passage as the prompt shows it: its label, its text, and the file line its text
    starts on (read from labels such as ``notes.md:12-30`` when not given).

    ``tool`` marks a tool's result for this turn rather than a document passage: its sentences
    outrank every passage sentence (the user asked for exactly that result), and tokens copied
    from it carry no passage number (there is no source to cite or open)."""

    label: str
    text: str
    first_line: int | None = None
    tool: bool = False

    @property
    def start_line(self) -> int:
        if self.first_line is not None:
            return self.first_line
        match = _LABEL_LINE.search(self.label)
        return int(match.group(1)) if match else 1


@dataclass(frozen=True)
class GroundingInput:
    """What grounding needs from the caller: the question, the passages in prompt order
    (then the turn's tool results, ``SourceText.tool``), how
    to score a sentence's relevance (word overlap when None), and for context-aware decoding
    the same prompt without the passages."""

    question: str
    sources: tuple[SourceText, ...]
    relevance: Relevance | None = None
    unconditional_prompt: str | None = None


__all__ = ["GroundingInput", "SourceText"]
