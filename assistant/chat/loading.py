"""The stages of a chat session's start — model, embedder, index, tools — as plain records.

``load_all`` reports each stage to a callback as it starts, makes progress (the
index build: files done of total) and ends, with the seconds it took, so a UI can explain a
slow first start. The callback runs in the loading thread; the UI hands it to its own loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from assistant.chat.events import Notice
from assistant.errors import AssistantError

if TYPE_CHECKING:
    from assistant.chat.components import Components
    from assistant.rag.indexer import ProgressEvent

log = logging.getLogger(__name__)
# skipped: nothing to load (a stand-in retriever brings no embedder)
StageState = Literal["running", "done", "failed", "skipped"]
LOAD_STAGES = ("model", "embedder", "index", "tools")  # in the order they load
# Runs on after the chat opened (an index another embedder built, rebuilt in the background).
REBUILD_STAGE = "index rebuild"
PROGRESS_INTERVAL_S = 0.2  # progress within a stage is reported at most this often


@dataclass(frozen=True)
class LoadStage:
    name: str  # one of LOAD_STAGES
    state: StageState
    seconds: float = 0.0  # time spent so far (running) or in all (done, failed)
    detail: str = ""  # progress ("12/40 files") or, when failed, why


StageCallback = Callable[[LoadStage], None]


class StageClock:
    """Times one stage and reports it: running (with throttled progress), then the end."""

    def __init__(self, name: str, report: StageCallback | None) -> None:
        self.name = name
        self._report = report
        self._began = time.perf_counter()
        self._last_progress = float("-inf")
        self._emit("running")

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self._began

    def progress(self, detail: str, *, final: bool = False) -> None:
        """Report progress; ``final``: the last word before a long quiet step, never
        dropped by the throttle."""
        now = time.perf_counter()
        if final or now - self._last_progress >= PROGRESS_INTERVAL_S:
            self._last_progress = now
            self._emit("running", detail)

    def finish(self, state: StageState, detail: str = "") -> LoadStage:
        return self._emit(state, detail)

    def _emit(self, state: StageState, detail: str = "") -> LoadStage:
        stage = LoadStage(self.name, state, self.seconds, detail)
        if self._report is not None:
            self._report(stage)
        return stage


def load_all(parts: Components, on_stage: StageCallback | None = None) -> None:
    """Load model, embedder, index and tool servers in turn (then open the history), each
    timed and reported to ``on_stage``. A part that fails becomes a Notice on ``parts`` and
    the rest still load: the chat works with whatever loaded."""
    _run(parts, "model", "model", on_stage, lambda clock: _model(parts))
    _run(parts, "embedder", "embedding model", on_stage, lambda clock: _embedder(parts))
    _run(parts, "index", "retrieval", on_stage, lambda clock: _index(parts, clock, on_stage))
    _run(parts, "tools", "tools", on_stage, lambda clock: _tools(parts))
    _run(parts, "history", "history", None, lambda clock: _history(parts))


Outcome = tuple[StageState, str]  # how a stage ended, and a short detail


def _run(
    parts: Components,
    name: str,
    label: str,
    on_stage: StageCallback | None,
    load: Callable[[StageClock], Outcome],
) -> None:
    clock = StageClock(name, on_stage)
    try:
        state, detail = load(clock)
    except AssistantError as exc:
        state, detail = "failed", str(exc)
        parts.notices.append(Notice(f"{label} unavailable: {exc}", "error"))
    except Exception as exc:  # a broken install must not stop the chat from opening
        log.exception("loading %s failed", name)
        state, detail = "failed", f"{type(exc).__name__}: {exc}"
        parts.notices.append(Notice(f"{label} unavailable: {detail}", "error"))
    clock.finish(state, detail.splitlines()[0][:120] if detail else "")


def _model(parts: Components) -> Outcome:
    engine = parts.engine()
    return "done", "bundled fallback" if engine.loaded.is_fallback else ""


def _embedder(parts: Components) -> Outcome:
    if parts.embedder() is not None:
        return "done", ""
    problem = parts.embedder_problem
    return ("failed", problem) if problem else ("skipped", "")


def _index(parts: Components, clock: StageClock, on_stage: StageCallback | None) -> Outcome:
    if parts.retriever(progress=_index_progress(clock)) is not None:
        return "done", ""
    mismatch = parts.index_mismatch
    if mismatch is not None:
        # The chat opens without retrieval; the rebuild reports as a stage of its own.
        rebuild = StageClock(REBUILD_STAGE, on_stage)
        if parts.rebuild_index(_index_progress(rebuild), rebuild.finish):
            return "failed", f"built with {mismatch.built_with}: rebuilding"
        rebuild.finish("failed", "not started")
    return "failed", parts.retriever_problem


def _index_progress(clock: StageClock) -> Callable[[ProgressEvent], None]:
    """The indexer's events as "files done/total" while it reads; once every file is read
    the last batches are still being embedded, often the longest step, so that is said (and
    never dropped by the throttle)."""

    def report(event: ProgressEvent) -> None:
        done, total = event.files_done, event.files_total
        if event.phase == "index" and total:
            if done < total:
                clock.progress(f"{done}/{total} files")
            else:
                clock.progress(f"{total} files read, embedding", final=True)

    return report


def _tools(parts: Components) -> Outcome:
    if parts.tools() is None:
        return "failed", "unavailable"
    running, total = parts.tool_servers
    return ("failed" if total and not running else "done"), f"{running}/{total} servers"


def _history(parts: Components) -> Outcome:
    parts.history()
    return "done", ""
