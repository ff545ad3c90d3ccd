"""Reading files under a confined root: regular text files only, a bounded number of bytes."""

from __future__ import annotations

import os

from mcp_servers.file_lookup.errors import (
    BinaryFileError,
    NotRegularFileError,
    SandboxError,
    TooLargeError,
)
from mcp_servers.file_lookup.paths import ConfinedRoot
from mcp_servers.file_lookup.walking import WalkBudget


def read_text_bytes(root: ConfinedRoot, parts: tuple[str, ...], label: str) -> bytes:
    """The whole content of a text file under the size limit, or a SandboxError."""
    if not parts:
        raise NotRegularFileError(f"{label!r} is a directory")
    parent = root.open_directory(parts[:-1], label)
    try:
        fd = root.open_regular_file(parent, parts[-1], label)
    finally:
        os.close(parent)
    try:
        size = os.fstat(fd).st_size
        limit = root.limits.max_file_bytes
        if size > limit:
            raise TooLargeError(f"{label!r} has {size_label(size)} (limit {size_label(limit)})")
        head = os.read(fd, root.limits.binary_sniff_bytes)
        if looks_binary(head):
            raise BinaryFileError(f"{label!r} is not a text file")
        data = head + _read_at_most(fd, limit + 1 - len(head))
        if len(data) > limit:  # grew since fstat
            raise TooLargeError(f"{label!r} is larger than {size_label(limit)}")
        return data
    finally:
        os.close(fd)


def read_for_search(
    root: ConfinedRoot, directory_fd: int, name: str, budget: WalkBudget
) -> bytes | None:
    """A file's bytes for searching, or None when it is skipped (binary, large, special)."""
    limits = root.limits
    try:
        fd = root.open_regular_file(directory_fd, name, name)
    except (SandboxError, OSError):
        return None
    try:
        size = os.fstat(fd).st_size
        if size > limits.max_file_bytes:
            return None
        if budget.bytes_read + size > limits.max_search_bytes:
            budget.stopped_because = f"stopped after reading {size_label(budget.bytes_read)}"
            return None
        data = _read_at_most(fd, min(size, limits.max_file_bytes))
        budget.bytes_read += len(data)
        if looks_binary(data[: limits.binary_sniff_bytes]):
            return None
        return data
    finally:
        os.close(fd)


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


def looks_binary(sample: bytes) -> bool:
    """Git's rule (a NUL byte) plus: mostly control characters means not text."""
    if b"\0" in sample:
        return True
    if not sample:
        return False
    control = sum(1 for byte in sample if byte < 32 and byte not in b"\t\n\r\f\b\x1b")
    return control / len(sample) > 0.1


def split_lines(text: str) -> list[str]:
    """Lines as grep and editors number them: split on \\n only, CR of CRLF dropped."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def size_label(byte_count: int) -> str:
    if byte_count < 1024:
        return f"{byte_count} bytes"
    size = float(byte_count)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        size /= 1024
        if size < 1024 or unit == "TiB":
            break
    return f"{size:.1f} {unit}"
