"""Bridge from the session's worker thread to the approval modal on the UI thread."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from assistant.tui.screens.approval import ApprovalScreen

if TYPE_CHECKING:
    from assistant.chat.events import PlannedCall


class ApprovalGate:
    """``gate(call) -> bool``, called by the session from a worker thread.

    Pushes ApprovalScreen on the UI thread and blocks the worker (never the UI) until the user
    answers or the turn is stopped. "For this session" approvals are remembered per tool.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.approved_tools: set[str] = set()
        self.stop_event: threading.Event | None = None

    def __call__(self, call: PlannedCall) -> bool:
        if call.name in self.approved_tools:
            return True
        answered = threading.Event()
        answer: list[str] = []
        screen = ApprovalScreen(call)

        def on_answer(result: str | None) -> None:
            answer.append(result or "deny")
            answered.set()

        self._status("waiting for your approval")
        self.app.call_from_thread(self.app.push_screen, screen, on_answer)
        while not answered.wait(0.1):
            if self.stop_event is not None and self.stop_event.is_set():
                return False  # the app is closing (the modal itself answers Esc with deny)
        self._status("generating")
        if answer[0] == "session":
            self.approved_tools.add(call.name)
        return answer[0] in ("once", "session")

    def _status(self, text: str) -> None:
        self.app.call_from_thread(setattr, self.app.header, "status", text)
