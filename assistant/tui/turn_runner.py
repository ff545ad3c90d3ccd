"""Runs one generator of chat events in a thread worker and feeds an AnswerBlock in batches.

The worker only puts events on a queue (never blocks on the UI); a UI timer drains it at most
REFRESH_HZ times a second, so the log refreshes at a bounded rate whatever the token rate.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from textual.timer import Timer

from assistant.tui.widgets.answer_block import AnswerBlock

REFRESH_HZ = 20
_END = object()


class TurnRunner:
    """One running generation at a time; ``stop()`` asks it to finish early."""

    def __init__(
        self,
        app: Any,
        on_finished: Callable[[AnswerBlock], None],
        on_progress: Callable[[float], None] = lambda tokens_per_s: None,
    ) -> None:
        self.app = app
        self.on_finished = on_finished
        self.on_progress = on_progress
        self.events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.stop_event = threading.Event()
        self.block: AnswerBlock | None = None
        self.timer: Timer | None = None
        # Token arrival times as the worker sees them: the UI drains in 20 Hz batches, so a
        # fast model can deliver a whole answer in one batch (rate from UI time = nonsense).
        self.first_token_at: float | None = None
        self.last_token_at: float | None = None
        self.produced = 0

    @property
    def busy(self) -> bool:
        return self.block is not None

    def start(
        self, block: AnswerBlock, produce: Callable[[threading.Event], Iterator[Any]]
    ) -> None:
        """Run ``produce(stop_event)`` in a thread worker, rendering into ``block``."""
        self.block = block
        self.stop_event = threading.Event()
        self.first_token_at, self.last_token_at, self.produced = None, None, 0
        stop_event, events = self.stop_event, self.events

        def work() -> None:
            from assistant.chat.events import TokenGenerated

            try:
                for event in produce(stop_event):
                    if isinstance(event, TokenGenerated):
                        now = time.perf_counter()
                        if self.first_token_at is None:
                            self.first_token_at = now
                        self.last_token_at, self.produced = now, self.produced + 1
                    events.put(event)
            except Exception as exc:  # the chat goes on: show what broke
                from assistant.chat.events import TurnError

                events.put(TurnError("internal", f"{type(exc).__name__}: {exc}"))
            finally:
                events.put(_END)

        self.app.run_worker(work, thread=True, group="turn", name="turn")
        self.timer = self.app.set_interval(1 / REFRESH_HZ, self.drain)

    def stop(self) -> bool:
        if self.block is None:
            return False
        self.stop_event.set()
        return True

    def drain(self) -> None:
        batch: list[Any] = []
        ended = False
        while True:
            try:
                item = self.events.get_nowait()
            except queue.Empty:
                break
            if item is _END:
                ended = True
                break
            batch.append(item)
        block = self.block
        if block is None:
            return
        if not block.is_attached:  # the log was cleared (new chat) while this turn ran
            batch = []
        if batch:
            added = block.apply(batch)
            self.app.log_view.call_after_refresh(self.app.log_view.follow_end)
            if added:
                self.on_progress(self.tokens_per_second())
        if ended:
            self._finish(block)

    def tokens_per_second(self) -> float:
        """Decode rate: tokens after the first over the time between first and last."""
        first, last, count = self.first_token_at, self.last_token_at, self.produced
        if first is None or last is None or count < 2 or last <= first:
            return 0.0
        return (count - 1) / (last - first)

    def _finish(self, block: AnswerBlock) -> None:
        if self.timer is not None:
            self.timer.stop()
        self.timer, self.block = None, None
        if block.message is not None and not block.message.finished:
            # The producer ended without TurnDone (a fork, a stop before the first event).
            reason = "cancelled" if self.stop_event.is_set() else "eos"
            block.message.finish(None, reason)
        self.on_finished(block)
