"""Source ids of passages: ``<folder>/<file>:<start>-<end>``, named as the app cites them.

A document is named by the folder it was indexed from and its path inside that folder
(``corpus/decoding.md``), not by its absolute path: that is what people read in citations and
what stays the same on another machine. Two indexed folders with the same name are told apart
by their absolute paths instead.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from mcp_servers.course_search.errors import CourseSearchError

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


class DocumentNames:
    """Absolute document paths ↔ their readable names, for one generation of the index."""

    def __init__(self, documents: Iterable[tuple[str, str]]) -> None:
        """``documents``: (absolute path, the indexed folder it was found under) pairs."""
        pairs = list(documents)
        labels = Counter(PurePosixPath(root).name for root in {root for _, root in pairs})
        self._by_path: dict[str, str] = {}
        for path, root in pairs:
            self._by_path[path] = _name(path, root, unique=labels[PurePosixPath(root).name] == 1)
        self._by_name = {name: path for path, name in self._by_path.items()}

    def name_of(self, path: str) -> str:
        return self._by_path.get(path, path)

    def path_of(self, name: str) -> str | None:
        """The document a name (or an absolute path) refers to, or None."""
        if name in self._by_path:
            return name
        return self._by_name.get(name)


def _name(path: str, root: str, *, unique: bool) -> str:
    folder, inside = PurePosixPath(root), PurePosixPath(path)
    if not folder.name or inside == folder or not inside.is_relative_to(folder):
        return path  # a file indexed on its own, or the filesystem root: its absolute path
    base = PurePosixPath(folder.name) if unique else folder
    return str(base / inside.relative_to(folder))
