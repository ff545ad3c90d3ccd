"""Ask the user before a tool runs: the full arguments, approve once / for the session / deny."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from assistant.tui.safe_text import join, literal

if TYPE_CHECKING:
    from assistant.chat.events import PlannedCall


Answer = Literal["once", "session", "deny"]


class ApprovalScreen(ModalScreen[Answer]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer('once')", "approve once"),
        Binding("a", "answer('session')", "approve for this session"),
        Binding("n,escape", "answer('deny')", "deny"),
    ]

    def __init__(self, call: PlannedCall) -> None:
        super().__init__()
        self.call = call

    def compose(self) -> ComposeResult:
        with Vertical(id="approval-box") as box:
            box.border_title = "tool call needs approval"
            yield Static(join("Run ", (self.call.name, "bold"), f"?  ({self.call.reason})"))
            with VerticalScroll(id="approval-args"):
                args = json.dumps(self.call.arguments, ensure_ascii=False, indent=2, default=str)
                yield Static(literal(args))
            with Horizontal(id="approval-buttons"):
                yield Button("Approve once (y)", id="once", variant="primary")
                yield Button("For this session (a)", id="session")
                yield Button("Deny (n)", id="deny", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_answer(event.button.id or "deny")

    def action_answer(self, answer: str) -> None:
        self.dismiss(answer if answer in ("once", "session") else "deny")  # type: ignore[arg-type]
