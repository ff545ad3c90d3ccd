"""Rendering of indexing progress and summaries for the ``index`` commands.

A rich progress bar (files, chunks, rate, ETA) on a terminal; plain, rate-limited lines on
stderr otherwise, so logs and ``--json`` output stay clean.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

# The index commands show paths and snippets through this name.
from assistant.text_safety import escape_controls as printable

if TYPE_CHECKING:
    from assistant.rag.indexer import IndexReport, ProgressCallback, ProgressEvent

PLAIN_EVERY_S = 2.0


@contextlib.contextmanager
def progress_reporter(*, quiet: bool = False) -> Iterator[ProgressCallback]:
    if quiet:
        yield lambda event: None
    elif sys.stderr.isatty():
        with _rich_progress() as callback:
            yield callback
    else:
        yield _PlainProgress()


class _PlainProgress:
    def __init__(self) -> None:
        self.last = 0.0

    def __call__(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        if event.phase == "index" and now - self.last < PLAIN_EVERY_S:
            return
        self.last = now
        if event.phase in ("index", "done") and event.files_total:
            print(
                f"indexing: {event.files_done}/{event.files_total} files, "
                f"{event.chunks} chunks embedded",
                file=sys.stderr,
                flush=True,
            )


@contextlib.contextmanager
def _rich_progress() -> Iterator[ProgressCallback]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files · {task.fields[chunks]} chunks · {task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    console = Console(stderr=True, markup=False, highlight=False)
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("scanning", total=None, chunks=0, rate="")
        start = time.monotonic()

        def update(event: ProgressEvent) -> None:
            elapsed = max(time.monotonic() - start, 1e-6)
            rate = f"{event.chunks / elapsed:.1f} chunks/s" if event.chunks else ""
            label = {"commit": "committing", "done": "done"}.get(event.phase, "indexing")
            bar.update(
                task,
                description=label,
                total=event.files_total or None,
                completed=event.files_done,
                chunks=event.chunks,
                rate=rate,
            )

        yield update


def summary_lines(report: IndexReport, *, max_skipped: int = 20) -> list[str]:
    reasons = Counter(reason for _, reason in report.skipped)
    why = ", ".join(f"{reason}: {n}" for reason, n in reasons.most_common())
    lines = [
        f"added {len(report.added)}, updated {len(report.updated)}, "
        f"removed {len(report.removed)}, unchanged {report.unchanged}, "
        f"skipped {len(report.skipped)}" + (f" ({why})" if why else ""),
        f"{report.chunks_added} chunks embedded in {report.seconds:.1f} s; "
        f"index {report.index} holds {report.chunks_total} chunks",
    ]
    for path, reason in report.skipped[:max_skipped]:
        lines.append(f"  skipped {printable(path)}: {reason}")
    if len(report.skipped) > max_skipped:
        lines.append(f"  … and {len(report.skipped) - max_skipped} more skipped")
    return lines
