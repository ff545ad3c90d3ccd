"""Everything one turn produced, in order: notices, tool cards, the answer, sources, budget."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual.containers import Vertical
from textual.widget import Widget

from assistant.chat.events import (
    Notice,
    PassagesRetrieved,
    PromptBudget,
    RouteDecided,
    TokenGenerated,
    ToolCallFinished,
    ToolCallStarted,
    TurnDone,
    TurnError,
)
from assistant.tui.widgets.assistant_message import AssistantMessage
from assistant.tui.widgets.budget import BudgetMeter
from assistant.tui.widgets.cards import NoticeLine, ToolCard
from assistant.tui.widgets.sources import SourcesList

if TYPE_CHECKING:
    from assistant.core.types import TokenStep


class AnswerBlock(Vertical):
    """Applies a turn's events as they arrive; the app feeds it in batches."""

    def __init__(
        self, decoding: Any = None, *, label: str = "assistant", children: Iterable[Widget] = ()
    ) -> None:
        super().__init__(*children)
        self.decoding = decoding
        self.label = label
        self.message: AssistantMessage | None = None
        self.cards: dict[str, ToolCard] = {}
        self.sources: SourcesList | None = None
        self.prompt = ""
        self.error: str | None = None
        self.done: TurnDone | None = None

    def ensure_message(self) -> AssistantMessage:
        if self.message is None:
            self.message = AssistantMessage(
                prompt=self.prompt, decoding=self.decoding, label=self.label
            )
            self.mount(self.message, before=self.sources)
        return self.message

    def apply(self, events: list[Any]) -> int:
        """Apply a batch of events; returns how many tokens it added."""
        pending: list[TokenStep] = []
        for event in events:
            if isinstance(event, TokenGenerated):
                pending.append(event.step)
                continue
            if pending:  # keep order: tokens before this event go in first
                self.ensure_message().append_steps(pending)
                pending = []
            self._apply_one(event)
        if pending:
            self.ensure_message().append_steps(pending)
        return sum(1 for e in events if isinstance(e, TokenGenerated))

    def _apply_one(self, event: Any) -> None:
        if isinstance(event, Notice):
            self.mount(NoticeLine(event.text, event.level))
        elif isinstance(event, RouteDecided):
            return  # the cards that follow say it; the explanation is in the history
        elif isinstance(event, ToolCallStarted):
            card = self.cards[event.call_id] = ToolCard(event.call_id, event.call)
            self.mount(card)
        elif isinstance(event, ToolCallFinished):
            if event.call_id not in self.cards:
                self.cards[event.call_id] = ToolCard(event.call_id, event.call)
                self.mount(self.cards[event.call_id])
            self.cards[event.call_id].finish(event)
        elif isinstance(event, PassagesRetrieved):
            if event.passages:
                self.sources = SourcesList(event.passages)
                self.mount(self.sources)
        elif isinstance(event, PromptBudget):
            self.prompt = event.prompt
            self.ensure_message().prompt = event.prompt
            self.mount(BudgetMeter(event))
        elif isinstance(event, TurnDone):
            self.done = event
            message = self.ensure_message()
            if event.decoding is not None:  # as it ran: the label under the answer says so
                message.decoding = event.decoding
            message.finish(event.text, event.finish_reason, event.message_id)
        elif isinstance(event, TurnError):
            self.error = event.message
            self.mount(NoticeLine(f"{event.stage} failed: {event.message}", "error"))
            if self.message is not None:
                self.message.finish(None, "error")
