"""One retrieved passage, opened at its cited lines: inside its document (the lines around it,
dimmed) when the file still holds it there, else the indexed passage alone; opened from a
copied token, that token's line is highlighted."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from assistant.tui.passage_context import PassageContext, passage_context
from assistant.tui.passage_label import passage_label
from assistant.tui.safe_text import literal


def split_at_line(text: str, start_line: int, line: int | None) -> tuple[str, str, str] | None:
    """(before, the line, after) for file line ``line`` of a passage whose text starts on
    file line ``start_line``; None when there is no such line."""
    if line is None:
        return None
    lines = text.split("\n")
    index = line - start_line
    if not 0 <= index < len(lines):
        return None
    return "\n".join(lines[:index]), lines[index], "\n".join(lines[index + 1 :])


class PassageScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "close")]

    def __init__(self, passage: Any, line: int | None = None) -> None:
        super().__init__()
        self.passage = passage
        self.line = line  # the file line a token was copied from: highlighted, scrolled to
        start = int(getattr(passage, "start_line", 1) or 1)
        end = int(getattr(passage, "end_line", start) or start)
        self.parts = split_at_line(str(passage.text), start, line)
        self.lines = (start, end)
        path = getattr(passage, "path", None)
        self.context: PassageContext | None = (
            passage_context(str(path), start, end, str(passage.text)) if path else None
        )

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="passage-box") as box:
            box.border_title = passage_label(self.passage)
            start, end = self.lines
            where = f"lines {start}-{end}" if end > start else f"line {start}"
            box.border_subtitle = f"{where} · Esc closes"
            if self.context is not None and self.context.before:
                yield Static(literal(self.context.before), classes="passage-context")
            if self.parts is None:
                cited = "-cited" if self.context is not None else ""
                yield Static(literal(self.passage.text), id="passage-text", classes=cited)
            else:
                before, line, after = self.parts
                box.border_subtitle = f"{where}, line {self.line} highlighted · Esc closes"
                if before:
                    yield Static(literal(before), classes="passage-part")
                yield Static(literal(line or " "), id="passage-line")
                if after:
                    yield Static(literal(after), classes="passage-part")
            if self.context is not None and self.context.after:
                yield Static(literal(self.context.after), classes="passage-context")

    def on_mount(self) -> None:
        """Open at the cited lines: the copied token's line, else the passage's start."""
        target = "#passage-line" if self.parts is not None else "#passage-text"
        if self.parts is None and self.context is None:
            return  # the passage alone starts at the top anyway
        widget = self.query_one(target)
        box = self.query_one("#passage-box", VerticalScroll)
        if self.parts is not None:
            self.call_after_refresh(box.scroll_to_widget, widget, animate=False, center=True)
        else:
            self.call_after_refresh(box.scroll_to_widget, widget, animate=False, top=True)
