"""Progress display for training: a rich bar with the loss on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)


class TrainingProgress:
    """Context manager; ``begin(start, total)`` once, ``update(step, loss)`` after each step."""

    def __init__(self, stream: TextIO | None = None, lines: int = 20) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.lines = lines
        self.total = 0
        self.every = 1
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._started = time.monotonic()

    def __enter__(self) -> TrainingProgress:
        return self

    def begin(self, start: int, total: int) -> None:
        self.total = total
        self.every = max(1, (total - start) // self.lines)
        self._started = time.monotonic()
        if self.stream.isatty():
            self._bar = Progress(
                TextColumn("training"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("train", total=total, completed=start, loss="-")

    def update(self, step: int, loss: float) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=step, loss=f"{loss:.3f}")
        elif step % self.every == 0 or step == self.total:
            elapsed = time.monotonic() - self._started
            print(
                f"step {step}/{self.total}  loss {loss:.4f}  {elapsed:.0f}s",
                file=self.stream,
                flush=True,
            )

    def message(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.stream, flush=True)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)
