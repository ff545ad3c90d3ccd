"""The records of the conversation history: a conversation, a message with everything its
answer was made with, a search hit. Plain frozen data, apart from the store that reads and
writes them, so the Markdown export and the store both use them without importing each other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    created: str
    message_count: int = 0


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: int
    parent_id: int | None
    role: str
    text: str
    model: str | None
    decoding: dict[str, Any] | None
    seed: int | None
    tokens: list[Any] | None  # per token: text, logprob, rank, top alternatives …
    sources: list[Any] | None
    tool_calls: list[Any] | None
    budget: dict[str, Any] | None
    finish_reason: str | None
    created: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SearchHit:
    conversation_id: int
    conversation_title: str
    message_id: int
    role: str
    snippet: str  # the matched words in [brackets]
