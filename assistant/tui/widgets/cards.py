"""Small blocks of the message log: the user's message, notices, tool-call cards."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

from assistant.tui.safe_text import join, literal

if TYPE_CHECKING:
    from assistant.chat.events import PlannedCall, ToolCallFinished


class UserMessage(Static, can_focus=True):
    def __init__(self, text: str) -> None:
        super().__init__(literal(text))
        self.text = text
        self.border_title = "you"


class NoticeLine(Static):
    """Something the user should know (fallback model, empty index, dead tool server)."""

    def __init__(self, text: str, level: str = "info") -> None:
        icon = _ICONS.get(level)
        super().__init__(literal(f"{icon} {text}" if icon else text))
        self.add_class(f"-{level}")


_ICONS = {"info": "ℹ", "warning": "⚠", "error": "✖"}


def format_arguments(arguments: dict[str, object]) -> str:
    return json.dumps(arguments, ensure_ascii=False, indent=None, default=str)


def running_content(call: PlannedCall) -> Content:
    return join(("args ", "bold"), format_arguments(call.arguments), ("\n… running", "italic"))


class ToolCard(Static):
    """A tool call inline in the answer: tool, arguments, then result or error and duration."""

    def __init__(self, call_id: str, call: PlannedCall) -> None:
        super().__init__(running_content(call))
        self.call_id = call_id
        self.call = call
        self.border_title = f"tool {call.name}"
        self.add_class("-running")

    def finish(self, event: ToolCallFinished) -> None:
        self.remove_class("-running")
        if not event.approved:
            outcome = ("denied by you", "bold")
            self.add_class("-error")
        elif event.ok:
            outcome = ("result ", "bold")
            self.add_class("-ok")
        else:
            outcome = ("error ", "bold")
            self.add_class("-error")
        self.update(
            join(
                ("args ", "bold"),
                format_arguments(event.call.arguments),
                "\n",
                outcome,
                event.text if event.approved else "",
                (f"\n{event.duration_s * 1000:.0f} ms", "italic"),
                (" (shortened in the prompt)" if event.truncated else "", "italic"),
            )
        )
        self.border_subtitle = f"{event.duration_s:.2f} s"
