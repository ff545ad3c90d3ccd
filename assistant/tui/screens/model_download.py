"""Ask before downloading the configured model: its name, size and where it goes. The answer
is the user's yes or no; the download itself runs in the background (the header shows it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from assistant.tui.safe_text import literal

if TYPE_CHECKING:
    from assistant.chat.first_run import ModelOffer


class ModelDownloadScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    ModelDownloadScreen { align: center middle; }
    #download-box {
        width: 84; height: auto; border: thick $accent; background: $surface; padding: 1 2;
    }
    #download-buttons { height: auto; align: center middle; margin: 1 0 0 0; }
    #download-buttons Button { margin: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "download"),
        Binding("n,escape", "answer(False)", "not now"),
    ]

    def __init__(self, offer: ModelOffer) -> None:
        super().__init__()
        self.offer = offer

    def compose(self) -> ComposeResult:
        with Vertical(id="download-box") as box:
            box.border_title = self.offer.title
            for number, line in enumerate(self.offer.lines):
                yield Static(literal(line), id=f"download-line-{number}")
            with Horizontal(id="download-buttons"):
                yield Button("Download (y)", id="yes", variant="primary")
                yield Button("Not now (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_answer(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
