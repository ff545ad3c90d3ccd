"""Source ids of passages: ``<folder>/<file>:<start>-<end>``, named as the app cites them.

Documents are named as the app cites them (``assistant.rag.source_names``): the folder they
were indexed from and the path inside it (``corpus/decoding.md``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.rag.source_names import DocumentNames
from mcp_servers.course_search.errors import CourseSearchError

__all__ = ["EXAMPLE", "DocumentNames", "SourceRef", "format_source", "parse_source"]

# The app's Passage.source may add " (page N)" for PDFs; it is accepted and ignored (the lines
# alone name the passage).
_SOURCE = re.compile(r"^(?P<name>.+?):(?P<start>\d+)(?:-(?P<end>\d+))?(?:\s+\(page \d+\))?$")
EXAMPLE = "corpus/decoding.md:29-31"


@dataclass(frozen=True)
class SourceRef:
    name: str
    start_line: int
    end_line: int


def format_source(name: str, start_line: int, end_line: int) -> str:
    return f"{name}:{start_line}-{end_line}"


def parse_source(text: str) -> SourceRef:
    """``name:start-end`` (or ``name:line``) → SourceRef; anything else is refused."""
    match = _SOURCE.match(text.strip())
    if match is None:
        raise CourseSearchError(
            f"source {text.strip()[:200]!r} is not FILE:START-END (e.g. {EXAMPLE!r}, "
            "as search returns it)"
        )
    start = int(match["start"])
    end = int(match["end"]) if match["end"] else start
    if start < 1 or end < start:
        raise CourseSearchError(f"source {text.strip()!r} has an empty line range")
    return SourceRef(match["name"], start, end)
