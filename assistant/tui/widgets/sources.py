"""The passages an answer was built on; selecting one opens the full passage."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from assistant.tui.passage_label import passage_label
from assistant.tui.safe_text import join
from assistant.tui.screens.passage import PassageScreen


class SourceItem(Static, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "open", "open passage")]

    def __init__(self, number: int, passage: Any) -> None:
        score = f"score {passage.score:.3f}"
        if getattr(passage, "dense_score", None) is not None:
            score += f" · dense {passage.dense_score:.3f}"
        if getattr(passage, "lexical_score", None) is not None:
            score += f" · bm25 {passage.lexical_score:.2f}"
        if getattr(passage, "sparse_score", None) is not None:
            score += f" · terms {passage.sparse_score:.2f}"
        super().__init__(join((f"[{number}] ", "bold"), passage_label(passage), f"  {score}"))
        self.passage = passage

    def action_open(self) -> None:
        self.app.push_screen(PassageScreen(self.passage))

    def on_click(self) -> None:
        self.action_open()


class SourcesList(Vertical):
    def __init__(self, passages: tuple[Any, ...]) -> None:
        super().__init__()
        self.passages = passages
        self.border_title = f"sources ({len(passages)})"

    def compose(self) -> ComposeResult:
        for number, passage in enumerate(self.passages, 1):
            yield SourceItem(number, passage)
