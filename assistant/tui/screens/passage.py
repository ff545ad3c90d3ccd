"""The full text of one retrieved passage; opened from a copied token, at its line."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

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
        self.parts = split_at_line(str(passage.text), start, line)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="passage-box") as box:
            box.border_title = passage_label(self.passage)
            box.border_subtitle = "Esc closes"
            if self.parts is None:
                yield Static(literal(self.passage.text), id="passage-text")
                return
            before, line, after = self.parts
            box.border_subtitle = f"line {self.line} highlighted · Esc closes"
            if before:
                yield Static(literal(before), classes="passage-part")
            yield Static(literal(line or " "), id="passage-line")
            if after:
                yield Static(literal(after), classes="passage-part")

    def on_mount(self) -> None:
        if self.parts is not None:
            line = self.query_one("#passage-line")
            box = self.query_one("#passage-box", VerticalScroll)
            self.call_after_refresh(box.scroll_to_widget, line, animate=False, center=True)
