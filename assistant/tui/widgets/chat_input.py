"""The prompt box: Enter sends, Shift+Enter / Ctrl+J insert a newline."""

from __future__ import annotations

from textual import events
from textual.widgets import TextArea

from assistant.tui.messages import SubmitText

# Terminals report Ctrl+J as ctrl+j or newline; many send Shift+Enter as plain Enter, so
# Ctrl+J is the portable way to a newline.
NEWLINE_KEYS = {"shift+enter", "ctrl+j", "newline"}


class ChatInput(TextArea):
    """Multi-line input; the text is posted as SubmitText and cleared on Enter."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
        self.placeholder = "Ask about the course… (Enter sends, Ctrl+J newline, /help)"

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            text = self.text.strip()
            if text:
                self.clear()
                self.post_message(SubmitText(text))
            return
        if event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        await super()._on_key(event)
