"""The full text of one retrieved passage."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from assistant.tui.safe_text import literal
from assistant.tui.widgets.sources import passage_label


class PassageScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "close")]

    def __init__(self, passage: Any) -> None:
        super().__init__()
        self.passage = passage

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="passage-box") as box:
            box.border_title = passage_label(self.passage)
            box.border_subtitle = "Esc closes"
            yield Static(literal(self.passage.text), id="passage-text")
