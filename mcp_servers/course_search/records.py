"""Plain results of the course search and the bounds that keep every answer small."""

from __future__ import annotations

from dataclasses import dataclass

MAX_K = 20
MAX_QUERY_CHARS = 2_000
# A hit carries a passage's text up to this; read_passage returns up to MAX_PASSAGE_CHARS.
MAX_HIT_CHARS = 1_500
MAX_PASSAGE_CHARS = 8_000


@dataclass(frozen=True)
class Scores:
    """The ranking score of each list that found the passage (None where it did not)."""

    fused: float | None
    dense: float | None
    bm25: float | None


@dataclass(frozen=True)
class Hit:
    source: str  # "<folder>/<file>:<start>-<end>", the id read_passage takes
    path: str  # absolute path of the document
    start_line: int
    end_line: int
    page: int | None
    scores: Scores
    text: str
    truncated: bool


@dataclass(frozen=True)
class SearchResult:
    query: str
    mode: str
    hits: list[Hit]


@dataclass(frozen=True)
class PassageText:
    source: str
    path: str
    start_line: int
    end_line: int
    page: int | None
    heading: str
    text: str
    truncated: bool


def bounded(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to ``limit`` characters, and whether it was cut."""
    return (text, False) if len(text) <= limit else (text[:limit], True)
