"""Browse past conversations (newest first), search them, reopen one."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from assistant.tui.safe_text import literal


class HistoryScreen(ModalScreen[int | None]):
    """Dismisses with the chosen conversation id (None when closed)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "close")]

    def __init__(self, history: Any) -> None:
        super().__init__()
        self.history = history

    def compose(self) -> ComposeResult:
        with Vertical(id="history-box") as box:
            box.border_title = "conversations (Enter opens, Esc closes)"
            yield Input(placeholder="search all messages…", id="history-search")
            yield OptionList(id="history-list")

    def on_mount(self) -> None:
        self.show_conversations()
        self.query_one(OptionList).focus()

    def show_conversations(self) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        for conversation in self.history.list_conversations():
            label = f"#{conversation.id}  {conversation.created[:16]}  "
            label += f"{conversation.title or '(untitled)'}  · {conversation.message_count} msgs"
            options.add_option(Option(literal(label), id=str(conversation.id)))
        if options.option_count:
            options.highlighted = 0  # Enter opens the newest at once

    def on_input_submitted(self, event: Input.Submitted) -> None:
        options = self.query_one(OptionList)
        if not event.value.strip():
            self.show_conversations()
            return
        options.clear_options()
        for hit in self.history.search(event.value):
            label = f"#{hit.conversation_id} {hit.conversation_title}: {hit.snippet}"
            options.add_option(Option(literal(label), id=f"{hit.conversation_id}:{hit.message_id}"))
        if options.option_count:
            options.highlighted = 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.dismiss(int(event.option.id.split(":")[0]))
