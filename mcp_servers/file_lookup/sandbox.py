"""Root-confined, bounded file access: the pure logic behind the file lookup server.

How a path stays inside the root:

1. The requested text is checked first: no NUL byte, no absolute path, no ``~``, no ``..``
   component (split on ``/`` and ``\\``).
2. ``os.path.realpath`` resolves every symlink, and the result must lie under the root's real
   path *by components* (``PurePath.relative_to``), so ``docs-evil`` is not inside ``docs``.
3. The file is then opened component by component from a descriptor of the root, each step
   with ``O_NOFOLLOW`` (``openat``). No symlink is ever followed while opening, so a link
   swapped in between the check and the open makes the open fail instead of leaving the root.
4. The opened descriptor is verified: ``fstat`` must show a regular file, the same inode the
   pre-open ``lstat`` saw, and (on Linux) ``/proc/self/fd`` must name a path inside the root.

Reads are bounded in bytes, directory walks never follow links and are bounded in entries,
depth and time. Search queries are literal text, compared case-insensitively.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO that slipped past the checks returns at once instead of hanging.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_PROC_FD_DIR = Path("/proc/self/fd")
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:([/\\]|$)")


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


class SandboxError(Exception):
    """A refused or failed request; ``reason`` is a short fixed label, the message says more."""

    reason = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(f"{self.reason}: {detail}")
        self.detail = detail


class InvalidRequestError(SandboxError):
    reason = "invalid request"


class OutsideRootError(SandboxError):
    reason = "outside root"


class NotFoundError(SandboxError):
    reason = "not found"


class NotRegularFileError(SandboxError):
    reason = "not a regular file"


class NotDirectoryError(SandboxError):
    reason = "not a directory"


class BinaryFileError(SandboxError):
    reason = "binary file"


class TooLargeError(SandboxError):
    reason = "too large"


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


@dataclass
class _WalkBudget:
    """Shared by one walk: entries seen, bytes read, deadline; records why it stopped."""

    limits: SandboxLimits
    deadline: float
    entries_seen: int = 0
    bytes_read: int = 0
    stopped_because: str | None = None
    unreadable_dirs: list[str] = field(default_factory=list)

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


class Sandbox:
    """File access confined to one directory tree. Thread-safe; call ``close`` when done."""

    def __init__(self, root: str | os.PathLike[str], limits: SandboxLimits = DEFAULT_LIMITS):
        real_root = os.path.realpath(root)
        try:
            self._root_fd = os.open(real_root, _DIRECTORY_FLAGS)
        except OSError as error:
            raise NotFoundError(f"root {str(root)!r} is not a readable directory") from error
        self.root = Path(real_root)
        self.limits = limits

    def close(self) -> None:
        if self._root_fd >= 0:
            os.close(self._root_fd)
            self._root_fd = -1

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- tools ----------------------------------------------------------------------------

    def list_files(self, path: str = ".", pattern: str = "*", recursive: bool = False) -> Listing:
        """List entries under ``path`` whose name matches ``pattern`` (a case-insensitive glob)."""
        _check_pattern(pattern, self.limits)
        parts = self._resolve(path)
        self._require_directory(parts, path)
        budget = self._new_budget()
        entries: list[Entry] = []
        truncated = False
        for directory_fd, entry_parts, entry in self._walk(parts, recursive, budget):
            if not _glob_matches(pattern, entry_parts):
                continue
            if len(entries) >= self.limits.max_list_entries:
                truncated = True
                budget.stopped_because = f"showing the first {self.limits.max_list_entries:,}"
                break
            entries.append(_describe_entry(directory_fd, entry_parts, entry))
        truncated = truncated or budget.stopped_because is not None
        return Listing(_display(parts), entries, truncated, _walk_note(budget))

    def read_file(self, path: str, start_line: int = 1, end_line: int | None = None) -> FileContent:
        """Return lines ``start_line``..``end_line`` (1-based, inclusive) of a text file."""
        if start_line < 1:
            raise InvalidRequestError("start_line must be 1 or more")
        if end_line is not None and end_line < start_line:
            raise InvalidRequestError("end_line must not be before start_line")
        parts = self._resolve(path)
        data = self._read_text_bytes(parts, path)
        lines = _split_lines(data.decode("utf-8", errors="replace"))
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
            path=_display(parts),
            start_line=start_line,
            end_line=start_line + len(shown) - 1,
            total_lines=len(lines),
            content="\n".join(shown),
            truncated=truncated,
            size_bytes=len(data),
        )

    def search_files(self, query: str, glob: str = "*", max_results: int = 50) -> SearchResult:
        """Find lines containing ``query`` (literal, case-insensitive) in text files."""
        if not query or "\n" in query or "\r" in query:
            raise InvalidRequestError("the query must be one non-empty line of text")
        if len(query) > self.limits.max_query_chars:
            raise InvalidRequestError(f"query longer than {self.limits.max_query_chars} characters")
        if not 1 <= max_results <= self.limits.max_search_results:
            raise InvalidRequestError(
                f"max_results must be between 1 and {self.limits.max_search_results}"
            )
        _check_pattern(glob, self.limits)
        needle = query.casefold()
        budget = self._new_budget()
        matches: list[SearchMatch] = []
        searched = skipped = 0
        truncated = False
        for directory_fd, entry_parts, entry in self._walk((), True, budget):
            if not entry.is_file(follow_symlinks=False) or not _glob_matches(glob, entry_parts):
                continue
            if not budget.has_time():
                break
            data = self._read_for_search(directory_fd, entry.name, budget)
            if data is None:
                skipped += 1
                continue
            searched += 1
            text = data.decode("utf-8", errors="replace")
            for number, line in enumerate(_split_lines(text), start=1):
                if needle in line.casefold():
                    if len(matches) >= max_results:
                        truncated = True
                        break
                    shown = line[: self.limits.max_line_chars]
                    matches.append(SearchMatch(_display(entry_parts), number, shown))
            if truncated or budget.stopped_because:
                break
        truncated = truncated or budget.stopped_because is not None
        return SearchResult(query, matches, truncated, searched, skipped, _walk_note(budget))

    def file_info(self, path: str) -> FileInfo:
        """Type, size and modification time; for text files also the line count."""
        parts = self._resolve(path)
        status = self._lstat(parts, path)
        modified = datetime.fromtimestamp(status.st_mtime, UTC).isoformat(timespec="seconds")
        display = _display(parts)
        if stat.S_ISDIR(status.st_mode):
            return FileInfo(display, "directory", status.st_size, modified)
        if not stat.S_ISREG(status.st_mode):
            raise NotRegularFileError(f"{path!r} is a {_kind(status.st_mode)}")
        if status.st_size > self.limits.max_file_bytes:
            return FileInfo(display, "file", status.st_size, modified)
        try:
            data = self._read_text_bytes(parts, path)
        except BinaryFileError:
            return FileInfo(display, "file", status.st_size, modified, is_binary=True)
        lines = _split_lines(data.decode("utf-8", errors="replace"))
        return FileInfo(display, "file", status.st_size, modified, False, len(lines))

    # --- path resolution ------------------------------------------------------------------

    def _resolve(self, user_path: str) -> tuple[str, ...]:
        """Turn a requested path into components of its real location under the root."""
        _check_requested_path(user_path, self.limits)
        joined = self.root / (user_path or ".")
        real = Path(os.path.realpath(joined))
        try:
            relative = real.relative_to(self.root)  # by components: docs-evil is not in docs
        except ValueError:
            raise OutsideRootError(f"{user_path!r} leads outside the root") from None
        try:
            os.path.realpath(joined, strict=True)
        except FileNotFoundError:
            raise NotFoundError(f"{user_path!r} does not exist") from None
        except OSError as error:
            raise NotFoundError(f"{user_path!r} cannot be resolved ({error.strerror})") from None
        return tuple(part for part in relative.parts if part != ".")

    def _open_directory(self, parts: tuple[str, ...], user_path: str) -> int:
        """Open the directory at ``parts`` without following any symlink on the way."""
        current = os.open(".", _DIRECTORY_FLAGS, dir_fd=self._root_fd)
        try:
            for part in parts:
                following = os.open(part, _DIRECTORY_FLAGS, dir_fd=current)
                os.close(current)
                current = following
        except OSError as error:
            os.close(current)
            raise _open_error(error, user_path) from None
        return current

    def _lstat(self, parts: tuple[str, ...], user_path: str) -> os.stat_result:
        if not parts:
            return os.fstat(self._root_fd)
        parent = self._open_directory(parts[:-1], user_path)
        try:
            return os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
        except OSError as error:
            raise _open_error(error, user_path) from None
        finally:
            os.close(parent)

    def _require_directory(self, parts: tuple[str, ...], user_path: str) -> None:
        status = self._lstat(parts, user_path)
        if not stat.S_ISDIR(status.st_mode):
            raise NotDirectoryError(f"{user_path!r} is a {_kind(status.st_mode)}")

    def _open_regular_file(self, parent_fd: int, name: str, user_path: str) -> int:
        """Open a regular file in ``parent_fd``; refuse anything else, verify what was opened."""
        try:
            before = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
        except OSError as error:
            raise _open_error(error, user_path) from None
        if not stat.S_ISREG(before.st_mode):
            raise NotRegularFileError(f"{user_path!r} is a {_kind(before.st_mode)}")
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=parent_fd)
        except OSError as error:
            raise _open_error(error, user_path) from None
        try:
            after = os.fstat(fd)
            if not stat.S_ISREG(after.st_mode):
                raise NotRegularFileError(f"{user_path!r} is a {_kind(after.st_mode)}")
            if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
                raise OutsideRootError(f"{user_path!r} changed while it was being opened")
            self._verify_descriptor_inside_root(fd, user_path)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _verify_descriptor_inside_root(self, fd: int, user_path: str) -> None:
        """Where the kernel says which path a descriptor has, it must lie under the root."""
        link = _PROC_FD_DIR / str(fd)
        try:
            opened = Path(os.readlink(link))
        except OSError:
            return  # no /proc here: the O_NOFOLLOW walk from the root fd is the guarantee
        try:
            opened.relative_to(self.root)
        except ValueError:
            raise OutsideRootError(f"{user_path!r} was opened outside the root") from None

    # --- reading --------------------------------------------------------------------------

    def _read_text_bytes(self, parts: tuple[str, ...], user_path: str) -> bytes:
        """The whole content of a text file under the size limit, or a SandboxError."""
        if not parts:
            raise NotRegularFileError(f"{user_path!r} is a directory")
        parent = self._open_directory(parts[:-1], user_path)
        try:
            fd = self._open_regular_file(parent, parts[-1], user_path)
        finally:
            os.close(parent)
        try:
            size = os.fstat(fd).st_size
            limit = self.limits.max_file_bytes
            if size > limit:
                raise TooLargeError(f"{user_path!r} has {_size(size)} (limit {_size(limit)})")
            head = os.read(fd, self.limits.binary_sniff_bytes)
            if _looks_binary(head):
                raise BinaryFileError(f"{user_path!r} is not a text file")
            data = head + _read_at_most(fd, limit + 1 - len(head))
            if len(data) > limit:  # grew since fstat
                raise TooLargeError(f"{user_path!r} is larger than {_size(limit)}")
            return data
        finally:
            os.close(fd)

    def _read_for_search(self, directory_fd: int, name: str, budget: _WalkBudget) -> bytes | None:
        """A file's bytes for searching, or None when it is skipped (binary, large, special)."""
        try:
            fd = self._open_regular_file(directory_fd, name, name)
        except (SandboxError, OSError):
            return None
        try:
            size = os.fstat(fd).st_size
            if size > self.limits.max_file_bytes:
                return None
            if budget.bytes_read + size > self.limits.max_search_bytes:
                budget.stopped_because = f"stopped after reading {_size(budget.bytes_read)}"
                return None
            data = _read_at_most(fd, min(size, self.limits.max_file_bytes))
            budget.bytes_read += len(data)
            if _looks_binary(data[: self.limits.binary_sniff_bytes]):
                return None
            return data
        finally:
            os.close(fd)

    # --- walking --------------------------------------------------------------------------

    def _new_budget(self) -> _WalkBudget:
        return _WalkBudget(self.limits, time.monotonic() + self.limits.max_walk_seconds)

    def _walk(
        self, start: tuple[str, ...], recursive: bool, budget: _WalkBudget
    ) -> Iterator[tuple[int, tuple[str, ...], os.DirEntry[str]]]:
        """Yield (open directory fd, entry path parts, entry) in pre-order, sorted by name.

        Only real directories are entered, each opened relative to its parent's descriptor
        with O_NOFOLLOW, so loops and links out of the root cannot be walked into.
        """
        try:
            directory_fd = self._open_directory(start, "/".join(start))
        except SandboxError:
            budget.unreadable_dirs.append(_display(start))
            return
        try:
            yield from self._walk_directory(directory_fd, start, 0, recursive, budget)
        finally:
            os.close(directory_fd)

    def _walk_directory(
        self,
        directory_fd: int,
        directory: tuple[str, ...],
        depth: int,
        recursive: bool,
        budget: _WalkBudget,
    ) -> Iterator[tuple[int, tuple[str, ...], os.DirEntry[str]]]:
        for entry in _read_directory(directory_fd, budget):
            entry_parts = (*directory, entry.name)
            yield directory_fd, entry_parts, entry
            if not (
                recursive
                and entry.is_dir(follow_symlinks=False)
                and depth + 1 < self.limits.max_walk_depth
                and budget.stopped_because is None
            ):
                continue
            try:
                child_fd = os.open(entry.name, _DIRECTORY_FLAGS, dir_fd=directory_fd)
            except OSError:  # unreadable, or swapped for a symlink since it was listed
                budget.unreadable_dirs.append(_display(entry_parts))
                continue
            try:
                yield from self._walk_directory(child_fd, entry_parts, depth + 1, recursive, budget)
            finally:
                os.close(child_fd)


def _read_directory(directory_fd: int, budget: _WalkBudget) -> list[os.DirEntry[str]]:
    entries = []
    with os.scandir(directory_fd) as scan:
        for entry in scan:
            if not budget.allows_entry():
                break
            entries.append(entry)
    entries.sort(key=lambda entry: entry.name)
    return entries


# --- small helpers ------------------------------------------------------------------------


def _check_requested_path(user_path: str, limits: SandboxLimits) -> None:
    if "\0" in user_path:
        raise InvalidRequestError("the path contains a NUL byte")
    if len(user_path) > limits.max_path_chars:
        raise InvalidRequestError(f"the path is longer than {limits.max_path_chars} characters")
    if user_path.startswith(("/", "\\")) or _WINDOWS_DRIVE.match(user_path):
        raise OutsideRootError(f"{user_path!r} is absolute; give a path relative to the root")
    if user_path.startswith("~"):
        raise OutsideRootError(f"{user_path!r}: '~' is not expanded; give a path under the root")
    if ".." in user_path.replace("\\", "/").split("/"):
        raise OutsideRootError(f"{user_path!r} contains '..'")


def _check_pattern(pattern: str, limits: SandboxLimits) -> None:
    if not pattern or "\0" in pattern or len(pattern) > limits.max_pattern_chars:
        raise InvalidRequestError(
            f"the pattern must be 1 to {limits.max_pattern_chars} characters without NUL"
        )


def _glob_matches(pattern: str, entry_parts: tuple[str, ...]) -> bool:
    """Match the name, or the whole relative path when the pattern has a '/'."""
    subject = "/".join(entry_parts) if "/" in pattern else entry_parts[-1]
    return fnmatch.fnmatchcase(subject.casefold(), pattern.casefold())


def _describe_entry(
    directory_fd: int, entry_parts: tuple[str, ...], entry: os.DirEntry[str]
) -> Entry:
    path = _display(entry_parts)
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


def _walk_note(budget: _WalkBudget) -> str | None:
    notes = []
    if budget.stopped_because:
        notes.append(budget.stopped_because)
    if budget.unreadable_dirs:
        notes.append(f"{len(budget.unreadable_dirs)} unreadable directories skipped")
    return "; ".join(notes) or None


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, min(remaining, 1024 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _looks_binary(sample: bytes) -> bool:
    """Git's rule (a NUL byte) plus: mostly control characters means not text."""
    if b"\0" in sample:
        return True
    if not sample:
        return False
    control = sum(1 for byte in sample if byte < 32 and byte not in b"\t\n\r\f\b\x1b")
    return control / len(sample) > 0.1


def _split_lines(text: str) -> list[str]:
    """Lines as grep and editors number them: split on \\n only, CR of CRLF dropped."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _open_error(error: OSError, user_path: str) -> SandboxError:
    if error.errno == errno.ENOENT:
        return NotFoundError(f"{user_path!r} does not exist")
    if error.errno in (errno.ELOOP, errno.ENOTDIR):
        # The resolved path had no symlink, so one appeared between the check and the open.
        return OutsideRootError(f"{user_path!r} changed to a symlink while being opened")
    if error.errno in (errno.EACCES, errno.EPERM):
        return NotFoundError(f"{user_path!r} is not readable (permission denied)")
    return NotFoundError(f"{user_path!r} cannot be opened ({error.strerror})")


def _display(parts: tuple[str, ...]) -> str:
    return str(PurePosixPath(*parts)) if parts else "."


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISREG(mode):
        return "regular file"
    return "special file"


def _size(byte_count: int) -> str:
    if byte_count < 1024:
        return f"{byte_count} bytes"
    size = float(byte_count)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        size /= 1024
        if size < 1024 or unit == "TiB":
            break
    return f"{size:.1f} {unit}"
