"""Path resolution and opening confined to one root directory.

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
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path, PurePosixPath
from typing import Self

from mcp_servers.file_lookup.errors import (
    InvalidRequestError,
    NotDirectoryError,
    NotFoundError,
    NotRegularFileError,
    OutsideRootError,
    SandboxError,
)
from mcp_servers.file_lookup.records import DEFAULT_LIMITS, SandboxLimits

DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO that slipped past the checks returns at once instead of hanging.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_PROC_FD_DIR = Path("/proc/self/fd")
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:([/\\]|$)")


class ConfinedRoot:
    """One directory tree, held open by descriptor; every open starts from that descriptor.

    ``name``, when given, is shown in front of every path this root reports (a server with
    several roots tells them apart by it); paths passed in never carry it.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        limits: SandboxLimits = DEFAULT_LIMITS,
        *,
        name: str | None = None,
    ) -> None:
        real_root = os.path.realpath(root)
        try:
            self._root_fd = os.open(real_root, DIRECTORY_FLAGS)
        except OSError as error:
            raise NotFoundError(f"root {str(root)!r} is not a readable directory") from error
        self.root = Path(real_root)
        self.limits = limits
        self.name = name

    def close(self) -> None:
        if self._root_fd >= 0:
            os.close(self._root_fd)
            self._root_fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- how paths are shown --------------------------------------------------------------

    def display(self, parts: tuple[str, ...]) -> str:
        """A path under the root as results show it: ``/``-separated, named root first."""
        shown = (self.name, *parts) if self.name else parts
        return str(PurePosixPath(*shown)) if shown else "."

    def shown_parts(self, parts: tuple[str, ...]) -> tuple[str, ...]:
        return (self.name, *parts) if self.name else parts

    def label(self, user_path: str) -> str:
        """A requested path as error messages quote it (with the root's name, if any)."""
        if not self.name:
            return user_path
        return self.name if user_path in ("", ".") else f"{self.name}/{user_path}"

    # --- resolution and opening -----------------------------------------------------------

    def _resolve(self, user_path: str) -> tuple[str, ...]:
        """Turn a requested path into components of its real location under the root."""
        label = self.label(user_path)
        check_requested_path(user_path, self.limits, label)
        joined = self.root / (user_path or ".")
        real = Path(os.path.realpath(joined))
        try:
            relative = real.relative_to(self.root)  # by components: docs-evil is not in docs
        except ValueError:
            raise OutsideRootError(f"{label!r} leads outside the root") from None
        try:
            os.path.realpath(joined, strict=True)
        except FileNotFoundError:
            raise NotFoundError(f"{label!r} does not exist") from None
        except OSError as error:
            raise NotFoundError(f"{label!r} cannot be resolved ({error.strerror})") from None
        return tuple(part for part in relative.parts if part != ".")

    def open_directory(self, parts: tuple[str, ...], label: str) -> int:
        """Open the directory at ``parts`` without following any symlink on the way."""
        current = os.open(".", DIRECTORY_FLAGS, dir_fd=self._root_fd)
        try:
            for part in parts:
                following = os.open(part, DIRECTORY_FLAGS, dir_fd=current)
                os.close(current)
                current = following
        except OSError as error:
            os.close(current)
            raise open_error(error, label) from None
        return current

    def lstat(self, parts: tuple[str, ...], label: str) -> os.stat_result:
        if not parts:
            return os.fstat(self._root_fd)
        parent = self.open_directory(parts[:-1], label)
        try:
            return os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
        except OSError as error:
            raise open_error(error, label) from None
        finally:
            os.close(parent)

    def require_directory(self, parts: tuple[str, ...], label: str) -> None:
        status = self.lstat(parts, label)
        if not stat.S_ISDIR(status.st_mode):
            raise NotDirectoryError(f"{label!r} is a {kind(status.st_mode)}")

    def open_regular_file(self, parent_fd: int, name: str, label: str) -> int:
        """Open a regular file in ``parent_fd``; refuse anything else, verify what was opened."""
        try:
            before = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
        except OSError as error:
            raise open_error(error, label) from None
        if not stat.S_ISREG(before.st_mode):
            raise NotRegularFileError(f"{label!r} is a {kind(before.st_mode)}")
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=parent_fd)
        except OSError as error:
            raise open_error(error, label) from None
        try:
            after = os.fstat(fd)
            if not stat.S_ISREG(after.st_mode):
                raise NotRegularFileError(f"{label!r} is a {kind(after.st_mode)}")
            if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
                raise OutsideRootError(f"{label!r} changed while it was being opened")
            self._verify_descriptor_inside_root(fd, label)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _verify_descriptor_inside_root(self, fd: int, label: str) -> None:
        """Where the kernel says which path a descriptor has, it must lie under the root."""
        link = _PROC_FD_DIR / str(fd)
        try:
            opened = Path(os.readlink(link))
        except OSError:
            return  # no /proc here: the O_NOFOLLOW walk from the root fd is the guarantee
        try:
            opened.relative_to(self.root)
        except ValueError:
            raise OutsideRootError(f"{label!r} was opened outside the root") from None


def check_requested_path(user_path: str, limits: SandboxLimits, label: str | None = None) -> None:
    """Refuse, before touching the disk, any path text that could name something outside."""
    shown = user_path if label is None else label
    if "\0" in user_path:
        raise InvalidRequestError("the path contains a NUL byte")
    if len(user_path) > limits.max_path_chars:
        raise InvalidRequestError(f"the path is longer than {limits.max_path_chars} characters")
    if user_path.startswith(("/", "\\")) or _WINDOWS_DRIVE.match(user_path):
        raise OutsideRootError(f"{shown!r} is absolute; give a path relative to the root")
    if user_path.startswith("~"):
        raise OutsideRootError(f"{shown!r}: '~' is not expanded; give a path under the root")
    if ".." in user_path.replace("\\", "/").split("/"):
        raise OutsideRootError(f"{shown!r} contains '..'")


def open_error(error: OSError, label: str) -> SandboxError:
    if error.errno == errno.ENOENT:
        return NotFoundError(f"{label!r} does not exist")
    if error.errno in (errno.ELOOP, errno.ENOTDIR):
        # The resolved path had no symlink, so one appeared between the check and the open.
        return OutsideRootError(f"{label!r} changed to a symlink while being opened")
    if error.errno in (errno.EACCES, errno.EPERM):
        return NotFoundError(f"{label!r} is not readable (permission denied)")
    return NotFoundError(f"{label!r} cannot be opened ({error.strerror})")


def kind(mode: int) -> str:
    """What a file mode describes, in words for error messages."""
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
