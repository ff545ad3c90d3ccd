"""Durable, all-or-nothing file publishing for the index's generations.

A file is written under a temporary name, fsynced, then renamed over its final name, so a
reader (or a writer killed at any moment) sees the old file or the new one, never a torn one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import faiss


def fsync_path(path: Path) -> None:
    """Flush a file, or a directory's entries (the renames in it), to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(tmp: Path, final: Path) -> None:
    fsync_path(tmp)
    os.replace(tmp, final)


def publish_faiss(index: Any, root: Path, name: str) -> None:
    tmp = root / f"{name}.tmp"
    faiss.write_index(index, str(tmp))
    publish(tmp, root / name)
