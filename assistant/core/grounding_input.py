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
    starts on (read from labels such as ``notes.md:12-30`` when not given)."""

    label: str
    text: str
    first_line: int | None = None

    @property
    def start_line(self) -> int:
        if self.first_line is not None:
            return self.first_line
        match = _LABEL_LINE.search(self.label)
        return int(match.group(1)) if match else 1


@dataclass(frozen=True)
class GroundingInput:
    """What grounding needs from the caller: the question, the passages in prompt order, how
    to score a sentence's relevance (word overlap when None), and for context-aware decoding
    the same prompt without the passages."""

    question: str
    sources: tuple[SourceText, ...]
    relevance: Relevance | None = None
    unconditional_prompt: str | None = None


__all__ = ["GroundingInput", "SourceText"]
