"""The one-writer lock of an index directory (``flock``; released by the kernel on death)."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from assistant.errors import IndexStoreError


class WriterLock:
    """Exclusive lock on ``<root>/lock``; the holder's pid is written in it for messages."""

    def __init__(self, path: Path, *, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._fd: int | None = None

    def acquire(self) -> None:
        """Wait up to ``timeout`` seconds for a running writer, then fail with a message."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    os.close(fd)
                    raise IndexStoreError(
                        f"index at {self.path.parent} is being written by another process "
                        f"(pid {holder}); try again when it has finished"
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
