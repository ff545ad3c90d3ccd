"""Several document folders behind one file lookup: each a named, separately confined root.

With one root nothing changes: paths are relative to it. With several, every path starts
with a root's name (``notes/intro.md``); ``.`` holds the roots themselves, and list and search
at ``.`` cover all of them. A request is dispatched to exactly one root's sandbox with the
name taken off, so it is confined exactly as with a single root: a name never reaches the
disk, and ``..`` or a symlink cannot lead from one root into another. One walk budget is
shared by all roots of a request, so the bounds hold for the whole request.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Sequence
from pathlib import Path

from mcp_servers.file_lookup.errors import (
    InvalidRequestError,
    NotFoundError,
    NotRegularFileError,
)
from mcp_servers.file_lookup.paths import check_requested_path
from mcp_servers.file_lookup.records import (
    DEFAULT_LIMITS,
    Entry,
    FileContent,
    FileInfo,
    Listing,
    SandboxLimits,
    SearchResult,
)
from mcp_servers.file_lookup.sandbox import Sandbox, check_search_request
from mcp_servers.file_lookup.walking import WalkBudget, check_pattern, glob_matches

MAX_ROOTS = 64
# A name given as NAME=DIR: one path component, not hidden by '~' or dots alone.
_ROOT_NAME = re.compile(r"[\w][\w.+-]*")


def parse_root_spec(spec: str) -> tuple[str | None, str]:
    """``NAME=DIR`` or ``DIR`` (a directory whose name holds '=' can be given as ``./a=b``)."""
    name, equals, directory = spec.partition("=")
    if equals and _ROOT_NAME.fullmatch(name) and directory:
        return name, directory
    return None, spec


def name_roots(
    specs: Sequence[tuple[str | None, str | os.PathLike[str]]],
) -> list[tuple[str, Path]]:
    """Give every root a name (its folder's, made unique with -2, -3 ...); the same folder
    given twice is served once. Raises InvalidRequestError for a clash of given names."""
    named: list[tuple[str, Path]] = []
    taken: set[str] = set()
    seen: set[Path] = set()
    given_names = {given for given, _ in specs if given is not None}
    for given, directory in specs:
        real = Path(os.path.realpath(directory))
        if real in seen:
            continue
        seen.add(real)
        if given is not None:
            if not _ROOT_NAME.fullmatch(given):
                raise InvalidRequestError(f"root name {given!r} must be one word")
            if given in taken:
                raise InvalidRequestError(f"root name {given!r} is given twice")
            name = given
        else:
            base = real.name.lstrip("~") or "root"
            name, number = base, 2
            while name in taken or name in given_names:
                name, number = f"{base}-{number}", number + 1
        taken.add(name)
        named.append((name, real))
    if len(named) > MAX_ROOTS:
        raise InvalidRequestError(f"at most {MAX_ROOTS} roots can be served")
    return named


class RootSet:
    """The four tools over one root, or over several named ones. Call ``close`` when done."""

    def __init__(
        self,
        roots: Sequence[tuple[str, str | os.PathLike[str]]],
        limits: SandboxLimits = DEFAULT_LIMITS,
    ) -> None:
        if not roots:
            raise InvalidRequestError("no root directory given")
        self.limits = limits
        self._boxes: dict[str, Sandbox] = {}
        try:
            for name, directory in roots:
                shown_name = name if len(roots) > 1 else None
                self._boxes[name] = Sandbox(directory, limits, name=shown_name)
        except BaseException:
            self.close()
            raise

    @property
    def roots(self) -> dict[str, Path]:
        """Each root's name and real directory, in the order given."""
        return {name: box.root for name, box in self._boxes.items()}

    @property
    def several(self) -> bool:
        return len(self._boxes) > 1

    def close(self) -> None:
        for box in self._boxes.values():
            box.close()

    # --- tools ----------------------------------------------------------------------------

    def list_files(self, path: str = ".", pattern: str = "*", recursive: bool = False) -> Listing:
        if not self.several:
            return self._only.list_files(path, pattern, recursive)
        box, rest = self._dispatch(path)
        if box is not None:
            return box.list_files(rest, pattern, recursive)
        check_pattern(pattern, self.limits)
        budget = WalkBudget.start(self.limits)
        entries: list[Entry] = []
        for name, box in self._boxes.items():
            if glob_matches(pattern, (name,)):
                entries.append(Entry(name, "directory", None))
            if recursive and budget.stopped_because is None:
                entries += box.list_files(".", pattern, True, budget=budget).entries
        if len(entries) > self.limits.max_list_entries:
            entries = entries[: self.limits.max_list_entries]
            budget.stopped_because = budget.stopped_because or (
                f"showing the first {self.limits.max_list_entries:,}"
            )
        return Listing(".", entries, budget.stopped_because is not None, budget.note())

    def read_file(self, path: str, start_line: int = 1, end_line: int | None = None) -> FileContent:
        if not self.several:
            return self._only.read_file(path, start_line, end_line)
        box, rest = self._dispatch(path)
        if box is None:
            raise NotRegularFileError(f"{path!r} is the directory of roots ({self._names()})")
        return box.read_file(rest, start_line, end_line)

    def search_files(self, query: str, glob: str = "*", max_results: int = 50) -> SearchResult:
        if not self.several:
            return self._only.search_files(query, glob, max_results)
        check_search_request(query, glob, max_results, self.limits)
        budget = WalkBudget.start(self.limits)
        found = SearchResult(query, [], False, 0, 0)
        for box in self._boxes.values():
            part = box.search_files(query, glob, max_results, budget=budget)
            found = dataclasses.replace(
                found,
                matches=found.matches + part.matches,
                truncated=found.truncated or part.truncated,
                files_searched=found.files_searched + part.files_searched,
                files_skipped=found.files_skipped + part.files_skipped,
            )
            if found.truncated or len(found.matches) > max_results:
                break
        return dataclasses.replace(
            found,
            matches=found.matches[:max_results],
            truncated=found.truncated or len(found.matches) > max_results,
            note=budget.note(),
        )

    def file_info(self, path: str) -> FileInfo:
        if not self.several:
            return self._only.file_info(path)
        box, rest = self._dispatch(path)
        if box is not None:
            return box.file_info(rest)
        newest = max(box.file_info(".").modified for box in self._boxes.values())
        return FileInfo(".", "directory", 0, newest)

    # --- dispatch -------------------------------------------------------------------------

    @property
    def _only(self) -> Sandbox:
        return next(iter(self._boxes.values()))

    def _names(self) -> str:
        return ", ".join(self._boxes)

    def _dispatch(self, path: str) -> tuple[Sandbox | None, str]:
        """The root a path names and the path inside it; (None, '.') for the roots' level."""
        check_requested_path(path, self.limits)
        parts = [part for part in path.split("/") if part not in ("", ".")]
        if not parts:
            return None, "."
        box = self._boxes.get(parts[0])
        if box is None:
            raise NotFoundError(
                f"{path!r} is in no root: paths start with a root's name ({self._names()})"
            )
        return box, "/".join(parts[1:]) or "."
