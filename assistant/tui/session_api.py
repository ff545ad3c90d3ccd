"""What the TUI needs from a chat session (assistant.chat.session.ChatSession fits it).

Written as a Protocol so tests can drive the app with a scripted session; nothing here
imports the heavy layers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from assistant.chat.events import ChatEvent, Notice, PlannedCall
    from assistant.chat.loading import StageCallback
    from assistant.core.decoding import DecodingSettings


ApproveFn = Callable[["PlannedCall"], bool]


class ChatSessionLike(Protocol):
    """The engine and history store are reached through ``engine_of`` / ``history_of``."""

    approve: ApproveFn | None

    @property
    def conversation_id(self) -> Any: ...

    def load(self, on_stage: StageCallback | None = None) -> list[Notice]: ...

    def turn(
        self,
        text: str,
        *,
        decoding: DecodingSettings | None = None,
        use_tools: bool = True,
        use_rag: bool = True,
        k: int = 4,
        stop_event: threading.Event | None = None,
        dry_run: bool = False,
    ) -> Iterator[ChatEvent]: ...

    def new_conversation(self) -> Any: ...

    def open_conversation(self, conversation_id: Any) -> Any: ...


def engine_of(session: Any) -> Any | None:
    """The session's loaded Engine, or None while loading / after a failed load."""
    engine = getattr(session, "engine", None)
    if engine is not None and not callable(engine):
        return engine
    parts = getattr(session, "parts", None)  # ChatSession keeps lazy components here
    if parts is not None and getattr(parts, "engine_loaded", False):
        return parts.engine()
    return None


def history_of(session: Any) -> Any | None:
    """The session's HistoryStore, or None."""
    history = getattr(session, "history", None)
    if history is not None and not callable(history):
        return history
    parts = getattr(session, "parts", None)
    if parts is not None:
        try:
            return parts.history()
        except Exception:  # no history (unwritable data dir): the chat goes on without
            return None
    return None
