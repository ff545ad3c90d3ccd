"""Where a conversation stands in the history: the stored conversation and the message the
next turn continues from (its leaf). Turns, regenerations and forks all store through here,
so a new answer always lands on the branch the user is looking at."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.chat.history import HistoryStore, Message
    from assistant.chat.turn_record import TurnRecord
    from assistant.core.decoding import DecodingSettings
    from assistant.core.types import FinishReason, TokenStep

TITLE_WIDTH = 60  # a conversation is titled by its first question, cut to this


class ConversationBranch:
    """The current branch of one conversation; the store is opened on first use."""

    def __init__(self, history: Callable[[], HistoryStore]) -> None:
        self._history = history
        self.conversation_id: int | None = None  # None before the first turn of a new one
        self.leaf_id: int | None = None

    def reset(self) -> None:
        """A new conversation: stored (titled by its first question) on the first turn, so
        empty conversations never reach the history."""
        self.conversation_id = self.leaf_id = None

    def open(self, conversation_id: int) -> list[Message]:
        """Continue a stored conversation from its latest message; returns its messages."""
        messages = self._history().messages(conversation_id)
        self.conversation_id = conversation_id
        self.leaf_id = messages[-1].id if messages else None
        return messages

    def branch_from(self, message_id: int) -> None:
        """Make the next turn a new branch after ``message_id`` (an assistant answer)."""
        message = self._history().message(message_id)
        self.conversation_id, self.leaf_id = message.conversation_id, message.id

    def rewind_last_question(self) -> None:
        """Continue from before the branch's latest question, so asking it again stores a
        sibling of its answer (for the first question: a second root of the conversation)."""
        if self.leaf_id is None:
            return
        store = self._history()
        message = store.message(self.leaf_id)
        if message.role == "assistant" and message.parent_id is not None:
            message = store.message(message.parent_id)
        self.leaf_id = message.parent_id

    def pairs(self) -> list[tuple[str, str]]:
        """(question, answer) pairs of the current branch, oldest first."""
        if self.leaf_id is None:
            return []
        pairs, question = [], None
        for message in self._history().branch(self.leaf_id):
            if message.role == "user":
                question = message.text
            elif message.role == "assistant" and question is not None:
                if message.text.strip():
                    pairs.append((question, message.text))
                question = None
        return pairs

    def store_turn(self, record: TurnRecord) -> int:
        """The question and its answer after the leaf; the answer becomes the leaf."""
        store = self._history()
        if self.conversation_id is None:
            self.conversation_id = store.new_conversation(_title(record.text))
            self.leaf_id = None
        user_id = store.add_message(
            self.conversation_id, "user", record.text, parent_id=self.leaf_id
        )
        answer_id = store.add_message(
            self.conversation_id, "assistant", parent_id=user_id, **record.message_fields()
        )
        self.leaf_id = answer_id
        return answer_id

    def store_fork(
        self,
        original_id: int,
        text: str,
        steps: Sequence[TokenStep],
        settings: DecodingSettings,
        *,
        model: str | None,
        finish_reason: FinishReason,
    ) -> int | None:
        """A fork of answer ``original_id``, stored as its sibling (same parent), becomes the
        leaf; None (nothing stored) outside a stored conversation."""
        if self.conversation_id is None:
            return None
        store = self._history()
        original = store.message(original_id)
        stored = store.add_message(
            self.conversation_id,
            "assistant",
            text,
            parent_id=original.parent_id if original.parent_id is not None else original.id,
            model=model,
            decoding=settings.to_dict(),
            seed=settings.seed,
            tokens=[step.to_dict() for step in steps],
            budget=original.budget,  # the same prompt: a fork of this fork needs it too
            finish_reason=finish_reason,
        )
        self.branch_from(stored)
        return stored


def _title(text: str, width: int = TITLE_WIDTH) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
