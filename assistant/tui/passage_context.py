"""The lines of its document around a cited passage, so the passage view opens at the cited
lines inside their file rather than as a loose snippet.

Only when the file still holds the passage at those lines (same words; it may have been edited
since it was indexed, or be a PDF or HTML whose lines are the loader's, not the file's), and
only a bounded read: otherwise the view shows the indexed passage alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 512 * 1024  # a passage view reads at most this much of its document
CONTEXT_LINES = 200  # shown before and after the cited lines, at most


@dataclass(frozen=True)
class PassageContext:
    before: str  # the document's lines above the passage ("" at its start)
    after: str  # and below it
    first_line: int  # the file line ``before`` starts on


def passage_context(path: str, start_line: int, end_line: int, text: str) -> PassageContext | None:
    """The file's lines around lines ``start_line``-``end_line`` of ``path``, if they still
    read ``text``; None when they do not, or the file cannot be read."""
    try:
        file = Path(path)
        if not file.is_file() or file.stat().st_size > MAX_FILE_BYTES:
            return None
        lines = file.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not 1 <= start_line <= end_line <= len(lines):
        return None
    cited = "\n".join(lines[start_line - 1 : end_line])
    if cited.split() != text.split():
        return None
    first = max(1, start_line - CONTEXT_LINES)
    before = "\n".join(lines[first - 1 : start_line - 1])
    after = "\n".join(lines[end_line : end_line + CONTEXT_LINES])
    return PassageContext(before, after.rstrip("\n"), first)
