"""Find the indexable files under the paths a user gives, following symlinks safely."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import DataError
from assistant.rag.loaders import SUPPORTED_SUFFIXES


@dataclass
class ScanResult:
    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def absolute(path: Path | str) -> Path:
    """Absolute and normalized, but symlinks kept: the path the user knows the file by."""
    return Path(os.path.abspath(os.path.expanduser(path)))


def check_paths(paths: list[Path]) -> list[Path]:
    missing = [str(p) for p in paths if not os.path.exists(p)]
    if missing:
        raise DataError(f"no such file or folder: {', '.join(missing)}")
    return [absolute(p) for p in paths]


def scan(roots: list[Path]) -> ScanResult:
    """Supported files under ``roots`` (sorted, each real file once) and what was skipped."""
    result = ScanResult()
    seen_files: set[tuple[int, int]] = set()
    for root in roots:
        if root.is_dir():
            _walk(root, result, seen_files, ancestors=frozenset())
        else:
            _consider(root, result, seen_files)
    return result


def _consider(path: Path, result: ScanResult, seen: set[tuple[int, int]]) -> None:
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        result.skipped.append((str(path), "unsupported file type"))
        return
    try:
        st = path.stat()
    except OSError as exc:
        reason = "broken symlink" if path.is_symlink() else f"unreadable: {exc.strerror}"
        result.skipped.append((str(path), reason))
        return
    key = (st.st_dev, st.st_ino)
    if key in seen:
        result.skipped.append((str(path), "same file already found via another path"))
        return
    seen.add(key)
    result.files.append(path)


def _walk(
    folder: Path,
    result: ScanResult,
    seen: set[tuple[int, int]],
    ancestors: frozenset[tuple[int, int]],
) -> None:
    try:
        st = folder.stat()
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        result.skipped.append((str(folder), f"unreadable folder: {exc.strerror}"))
        return
    key = (st.st_dev, st.st_ino)
    # A folder that contains itself through a symlink would otherwise be walked forever.
    if key in ancestors:
        result.skipped.append((str(folder), "symlink loop"))
        return
    inner = ancestors | {key}
    for entry in entries:
        if entry.name.startswith("."):
            continue  # .git, editor swap files, .DS_Store
        path = folder / entry.name
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            _walk(path, result, seen, inner)
        elif entry.is_file() or entry.is_symlink():
            _consider(path, result, seen)
