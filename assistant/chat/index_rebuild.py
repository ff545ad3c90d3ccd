"""Rebuilding an index another embedding model built, in the background, while the chat runs.

The chat opens, answers without sources meanwhile (saying so), and picks up the rebuilt index
when it is done. The rebuild is ``Indexer.rebuild``: a new generation written beside the old
one and published by one manifest swap, so quitting the chat (the thread is a daemon) or a
crash leaves the old index as it was, and the next start offers the rebuild again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from assistant.chat.events import Notice
from assistant.errors import AssistantError

if TYPE_CHECKING:
    from assistant.rag.embedder import Embedder
    from assistant.rag.indexer import ProgressEvent
    from assistant.rag.retriever import Retriever
    from assistant.rag.store import EmbedderMismatchError
    from assistant.settings import Settings

log = logging.getLogger(__name__)
# (the retriever over the rebuilt index or None, why it failed or "", a short summary)
RebuildDone = Callable[["Retriever | None", str, str], None]
WAITING = "answering without sources: the index is being rebuilt for the configured embedder"


def rebuilding_notice(mismatch: EmbedderMismatchError) -> Notice:
    return Notice(
        f"the index was built with {mismatch.built_with}; the configured embedder is "
        f"{mismatch.configured}: rebuilding it in the background (answers have no sources "
        "until it is done)",
        "warning",
    )


class IndexRebuild:
    """One background rebuild of ``settings.index_path`` with the configured embedder."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None,
        progress: Callable[[ProgressEvent], None] | None,
        on_done: RebuildDone,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self._progress = progress
        self._on_done = on_done
        self.files = (0, 0)  # (done, total) as last reported by the indexer
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, name="index-rebuild", daemon=True)

    def start(self) -> IndexRebuild:
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Until the rebuild ended (and its result was handed over); True if it did."""
        return self._finished.wait(timeout)

    def waiting_notice(self) -> Notice:
        done, total = self.files
        return Notice(f"{WAITING} ({done}/{total} files)" if total else WAITING, "warning")

    def _heard(self, event: ProgressEvent) -> None:
        if event.files_total:
            self.files = (event.files_done, event.files_total)
        if self._progress is not None:
            self._progress(event)

    def _run(self) -> None:
        from assistant.rag.indexer import Indexer
        from assistant.rag.retriever import Retriever

        try:
            try:
                indexer = Indexer(self.settings, embedder=self._embedder, progress=self._heard)
                report = indexer.rebuild()
                retriever = Retriever.open(self.settings, embedder=indexer.embedder)
            except (AssistantError, OSError) as exc:
                reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
                self._on_done(None, reason, "")
                return
            except Exception as exc:  # a broken install must not kill the chat silently
                log.exception("rebuilding the index failed")
                self._on_done(None, f"{type(exc).__name__}: {exc}", "")
                return
            files = len(report.added) + len(report.updated) + report.unchanged
            self._on_done(retriever, "", f"{files} files, {report.chunks_total} passages")
        finally:
            self._finished.set()
