"""The plain data the file lookup takes and returns: its bounds and one record per tool."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SandboxLimits:
    """Every bound the sandbox enforces."""

    max_file_bytes: int = 8 * 1024 * 1024  # larger files are refused ("too large")
    max_output_bytes: int = 64 * 1024  # read_file returns at most this much text
    binary_sniff_bytes: int = 8 * 1024
    max_walk_entries: int = 20_000  # directory entries looked at by one list/search
    max_walk_depth: int = 32
    max_walk_seconds: float = 5.0
    max_list_entries: int = 1_000
    max_search_results: int = 1_000
    max_search_bytes: int = 64 * 1024 * 1024  # bytes read by one search, all files together
    max_line_chars: int = 500
    max_path_chars: int = 4_096
    max_query_chars: int = 1_000
    max_pattern_chars: int = 256


DEFAULT_LIMITS = SandboxLimits()


@dataclass(frozen=True)
class Entry:
    """One item of a directory listing; ``path`` is relative to the root, with ``/``."""

    path: str
    type: str  # "file", "directory", "symlink" (never followed) or "other"
    size_bytes: int | None


@dataclass(frozen=True)
class Listing:
    path: str
    entries: list[Entry]
    truncated: bool
    note: str | None = None


@dataclass(frozen=True)
class FileContent:
    path: str
    start_line: int
    end_line: int  # last line included; start_line - 1 when no line was included
    total_lines: int
    content: str  # each line prefixed with its number and a tab
    truncated: bool
    size_bytes: int


@dataclass(frozen=True)
class SearchMatch:
    path: str
    line: int
    text: str


@dataclass(frozen=True)
class SearchResult:
    query: str
    matches: list[SearchMatch]
    truncated: bool
    files_searched: int
    files_skipped: int
    note: str | None = None


@dataclass(frozen=True)
class FileInfo:
    path: str
    type: str  # "file" or "directory"
    size_bytes: int
    modified: str  # ISO 8601, UTC
    is_binary: bool | None = None  # None when not checked (directories, too-large files)
    line_count: int | None = None
