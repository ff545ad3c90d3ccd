"""Small blocks of the message log: the user's message, notices, tool-call cards."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from textual.content import Content
from textual.widgets import Static

from assistant.tui.safe_text import join, literal
from assistant.tui.tool_result_view import result_content

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
    """A tool call inline in the answer: tool, arguments, then result or error and duration.
    The result is shown as ``tool_result_view`` renders it (fields for our tools)."""

    def __init__(self, call_id: str, call: PlannedCall) -> None:
        super().__init__(running_content(call))
        self.call_id = call_id
        self.call = call
        self.border_title = f"tool {call.name}"
        self.add_class("-running")

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ToolCard:
        """A finished card from a call as the history stores it (older rows lack the
        structured content and the separate server and tool names: the text is shown)."""
        card = cls(str(record.get("call_id", "")), _planned_call(record))
        card.finish(_finished_event(card.call_id, card.call, record))
        return card

    def finish(self, event: ToolCallFinished) -> None:
        self.remove_class("-running")
        result: Content | str = ""
        if not event.approved:
            outcome = ("denied by you", "bold")
            self.add_class("-error")
        elif event.ok:
            result = result_content(event.call.tool, event.structured, event.text)
            outcome = ("result\n" if "\n" in result.plain else "result ", "bold")
            self.add_class("-ok")
        else:
            outcome = ("error ", "bold")
            result = event.text
            self.add_class("-error")
        self.update(
            join(("args ", "bold"), format_arguments(event.call.arguments), "\n", outcome)
            + (result if isinstance(result, Content) else literal(result))
            + join(
                (f"\n{event.duration_s * 1000:.0f} ms", "italic"),
                (" (shortened in the prompt)" if event.truncated else "", "italic"),
            )
        )
        self.border_subtitle = f"{event.duration_s:.2f} s"


def _planned_call(record: Mapping[str, Any]) -> PlannedCall:
    from assistant.chat.events import PlannedCall

    name = str(record.get("name") or record.get("tool") or "tool")
    server, tool = record.get("server"), record.get("tool")
    if not isinstance(server, str) or not isinstance(tool, str):
        server, _, tool = name.rpartition(".")
    arguments = record.get("arguments")
    return PlannedCall(
        server,
        tool,
        arguments if isinstance(arguments, dict) else {},
        str(record.get("reason", "")),
    )


def _finished_event(call_id: str, call: PlannedCall, record: Mapping[str, Any]) -> ToolCallFinished:
    from assistant.chat.events import ToolCallFinished

    approved = bool(record.get("approved", True))
    structured = record.get("structured")
    duration = record.get("duration_s")
    return ToolCallFinished(
        call_id,
        call,
        ok=bool(record.get("ok", approved)),
        text=str(record.get("text") or record.get("error") or ""),
        duration_s=float(duration) if isinstance(duration, int | float) else 0.0,
        structured=structured if isinstance(structured, dict) else None,
        approved=approved,
        truncated=bool(record.get("prompt_truncated", False)),
    )
