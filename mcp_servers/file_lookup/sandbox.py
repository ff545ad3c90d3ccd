"""The file lookup's four tools over one root-confined directory tree (pure, no MCP).

Confinement lives in ``paths`` (resolving and opening), bounded reads in ``reading``, bounded
walks in ``walking``; this module combines them into list, read, search and info. Search
queries are literal text, compared case-insensitively.
"""

from __future__ import annotations

import stat
from datetime import UTC, datetime

from mcp_servers.file_lookup.errors import (
    BinaryFileError,
    InvalidRequestError,
    NotRegularFileError,
)
from mcp_servers.file_lookup.paths import ConfinedRoot, kind
from mcp_servers.file_lookup.reading import read_for_search, read_text_bytes, split_lines
from mcp_servers.file_lookup.records import (
    Entry,
    FileContent,
    FileInfo,
    Listing,
    SandboxLimits,
    SearchMatch,
    SearchResult,
)
from mcp_servers.file_lookup.walking import (
    WalkBudget,
    check_pattern,
    describe_entry,
    glob_matches,
    walk,
)


class Sandbox(ConfinedRoot):
    """File access confined to one directory tree. Thread-safe; call ``close`` when done.

    ``budget`` (list and search) lets several roots answering one request share one set of
    walk bounds; without it each call starts its own.
    """

    def list_files(
        self,
        path: str = ".",
        pattern: str = "*",
        recursive: bool = False,
        *,
        budget: WalkBudget | None = None,
    ) -> Listing:
        """List entries under ``path`` whose name matches ``pattern`` (a case-insensitive glob)."""
        check_pattern(pattern, self.limits)
        parts = self._resolve(path)
        self.require_directory(parts, self.label(path))
        budget = budget or WalkBudget.start(self.limits)
        entries: list[Entry] = []
        truncated = False
        for directory_fd, entry_parts, entry in walk(self, parts, recursive, budget):
            if not glob_matches(pattern, self.shown_parts(entry_parts)):
                continue
            if len(entries) >= self.limits.max_list_entries:
                truncated = True
                budget.stopped_because = f"showing the first {self.limits.max_list_entries:,}"
                break
            entries.append(describe_entry(self, directory_fd, entry_parts, entry))
        truncated = truncated or budget.stopped_because is not None
        return Listing(self.display(parts), entries, truncated, budget.note())

    def read_file(self, path: str, start_line: int = 1, end_line: int | None = None) -> FileContent:
        """Return lines ``start_line``..``end_line`` (1-based, inclusive) of a text file."""
        if start_line < 1:
            raise InvalidRequestError("start_line must be 1 or more")
        if end_line is not None and end_line < start_line:
            raise InvalidRequestError("end_line must not be before start_line")
        parts = self._resolve(path)
        data = read_text_bytes(self, parts, self.label(path))
        lines = split_lines(data.decode("utf-8", errors="replace"))
        last_wanted = len(lines) if end_line is None else min(end_line, len(lines))
        shown: list[str] = []
        output_bytes = 0
        truncated = False
        for number in range(start_line, last_wanted + 1):
            numbered = f"{number:>6}\t{lines[number - 1]}"
            output_bytes += len(numbered.encode("utf-8")) + 1
            if output_bytes > self.limits.max_output_bytes:
                truncated = True
                break
            shown.append(numbered)
        return FileContent(
            path=self.display(parts),
            start_line=start_line,
            end_line=start_line + len(shown) - 1,
            total_lines=len(lines),
            content="\n".join(shown),
            truncated=truncated,
            size_bytes=len(data),
        )

    def search_files(
        self,
        query: str,
        glob: str = "*",
        max_results: int = 50,
        *,
        budget: WalkBudget | None = None,
    ) -> SearchResult:
        """Find lines containing ``query`` (literal, case-insensitive) in text files."""
        check_search_request(query, glob, max_results, self.limits)
        needle = query.casefold()
        budget = budget or WalkBudget.start(self.limits)
        matches: list[SearchMatch] = []
        searched = skipped = 0
        truncated = False
        for directory_fd, entry_parts, entry in walk(self, (), True, budget):
            if not entry.is_file(follow_symlinks=False):
                continue
            if not glob_matches(glob, self.shown_parts(entry_parts)):
                continue
            if not budget.has_time():
                break
            data = read_for_search(self, directory_fd, entry.name, budget)
            if data is None:
                skipped += 1
                continue
            searched += 1
            text = data.decode("utf-8", errors="replace")
            for number, line in enumerate(split_lines(text), start=1):
                if needle in line.casefold():
                    if len(matches) >= max_results:
                        truncated = True
                        break
                    shown = line[: self.limits.max_line_chars]
                    matches.append(SearchMatch(self.display(entry_parts), number, shown))
            if truncated or budget.stopped_because:
                break
        truncated = truncated or budget.stopped_because is not None
        return SearchResult(query, matches, truncated, searched, skipped, budget.note())

    def file_info(self, path: str) -> FileInfo:
        """Type, size and modification time; for text files also the line count."""
        parts = self._resolve(path)
        label = self.label(path)
        status = self.lstat(parts, label)
        modified = datetime.fromtimestamp(status.st_mtime, UTC).isoformat(timespec="seconds")
        display = self.display(parts)
        if stat.S_ISDIR(status.st_mode):
            return FileInfo(display, "directory", status.st_size, modified)
        if not stat.S_ISREG(status.st_mode):
            raise NotRegularFileError(f"{label!r} is a {kind(status.st_mode)}")
        if status.st_size > self.limits.max_file_bytes:
            return FileInfo(display, "file", status.st_size, modified)
        try:
            data = read_text_bytes(self, parts, label)
        except BinaryFileError:
            return FileInfo(display, "file", status.st_size, modified, is_binary=True)
        lines = split_lines(data.decode("utf-8", errors="replace"))
        return FileInfo(display, "file", status.st_size, modified, False, len(lines))


def check_search_request(query: str, glob: str, max_results: int, limits: SandboxLimits) -> None:
    """Refuse a search before any file is read: one line of query, sane counts and glob."""
    if not query or "\n" in query or "\r" in query:
        raise InvalidRequestError("the query must be one non-empty line of text")
    if len(query) > limits.max_query_chars:
        raise InvalidRequestError(f"query longer than {limits.max_query_chars} characters")
    if not 1 <= max_results <= limits.max_search_results:
        raise InvalidRequestError(f"max_results must be between 1 and {limits.max_search_results}")
    check_pattern(glob, limits)
