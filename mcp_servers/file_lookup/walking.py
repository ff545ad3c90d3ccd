"""Directory walks under a confined root: never through a link, bounded in entries, depth
and time, with the name filters list and search share."""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from mcp_servers.file_lookup.errors import InvalidRequestError, SandboxError
from mcp_servers.file_lookup.paths import DIRECTORY_FLAGS, ConfinedRoot
from mcp_servers.file_lookup.records import Entry, SandboxLimits

# (open directory fd, entry path parts under the root, entry)
WalkItem = tuple[int, tuple[str, ...], os.DirEntry[str]]


@dataclass
class WalkBudget:
    """Shared by one request: entries seen, bytes read, deadline; records why it stopped."""

    limits: SandboxLimits
    deadline: float
    entries_seen: int = 0
    bytes_read: int = 0
    stopped_because: str | None = None
    unreadable_dirs: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, limits: SandboxLimits) -> WalkBudget:
        return cls(limits, time.monotonic() + limits.max_walk_seconds)

    def allows_entry(self) -> bool:
        if self.stopped_because:
            return False
        self.entries_seen += 1
        if self.entries_seen > self.limits.max_walk_entries:
            self.stopped_because = f"stopped after {self.limits.max_walk_entries:,} entries"
        return self.has_time()

    def has_time(self) -> bool:
        if self.stopped_because is None and time.monotonic() > self.deadline:
            self.stopped_because = f"stopped after {self.limits.max_walk_seconds:g} s"
        return self.stopped_because is None

    def note(self) -> str | None:
        """Why the walk is incomplete, for the result's ``note``; None when it is not."""
        notes = []
        if self.stopped_because:
            notes.append(self.stopped_because)
        if self.unreadable_dirs:
            notes.append(f"{len(self.unreadable_dirs)} unreadable directories skipped")
        return "; ".join(notes) or None


def walk(
    root: ConfinedRoot, start: tuple[str, ...], recursive: bool, budget: WalkBudget
) -> Iterator[WalkItem]:
    """Yield (open directory fd, entry path parts, entry) in pre-order, sorted by name.

    Only real directories are entered, each opened relative to its parent's descriptor
    with O_NOFOLLOW, so loops and links out of the root cannot be walked into.
    """
    try:
        directory_fd = root.open_directory(start, "/".join(start))
    except SandboxError:
        budget.unreadable_dirs.append(root.display(start))
        return
    try:
        yield from _walk_directory(root, directory_fd, start, 0, recursive, budget)
    finally:
        os.close(directory_fd)


def _walk_directory(
    root: ConfinedRoot,
    directory_fd: int,
    directory: tuple[str, ...],
    depth: int,
    recursive: bool,
    budget: WalkBudget,
) -> Iterator[WalkItem]:
    for entry in _read_directory(directory_fd, budget):
        entry_parts = (*directory, entry.name)
        yield directory_fd, entry_parts, entry
        if not (
            recursive
            and entry.is_dir(follow_symlinks=False)
            and depth + 1 < budget.limits.max_walk_depth
            and budget.stopped_because is None
        ):
            continue
        try:
            child_fd = os.open(entry.name, DIRECTORY_FLAGS, dir_fd=directory_fd)
        except OSError:  # unreadable, or swapped for a symlink since it was listed
            budget.unreadable_dirs.append(root.display(entry_parts))
            continue
        try:
            yield from _walk_directory(root, child_fd, entry_parts, depth + 1, recursive, budget)
        finally:
            os.close(child_fd)


def _read_directory(directory_fd: int, budget: WalkBudget) -> list[os.DirEntry[str]]:
    entries = []
    with os.scandir(directory_fd) as scan:
        for entry in scan:
            if not budget.allows_entry():
                break
            entries.append(entry)
    entries.sort(key=lambda entry: entry.name)
    return entries


def check_pattern(pattern: str, limits: SandboxLimits) -> None:
    if not pattern or "\0" in pattern or len(pattern) > limits.max_pattern_chars:
        raise InvalidRequestError(
            f"the pattern must be 1 to {limits.max_pattern_chars} characters without NUL"
        )


def glob_matches(pattern: str, shown_parts: tuple[str, ...]) -> bool:
    """Match the name, or the whole shown path when the pattern has a '/'."""
    subject = "/".join(shown_parts) if "/" in pattern else shown_parts[-1]
    return fnmatch.fnmatchcase(subject.casefold(), pattern.casefold())


def describe_entry(
    root: ConfinedRoot, directory_fd: int, entry_parts: tuple[str, ...], entry: os.DirEntry[str]
) -> Entry:
    path = root.display(entry_parts)
    if entry.is_symlink():
        return Entry(path, "symlink", None)
    if entry.is_dir(follow_symlinks=False):
        return Entry(path, "directory", None)
    if entry.is_file(follow_symlinks=False):
        try:
            size = os.stat(entry.name, dir_fd=directory_fd, follow_symlinks=False).st_size
        except OSError:
            size = None
        return Entry(path, "file", size)
    return Entry(path, "other", None)
