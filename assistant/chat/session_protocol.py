"""The public surface of a chat session: what the TUI, ``assistant ask`` and the benchmarks use.

``ChatSession`` implements it; so does the scripted session of the TUI tests, which mypy
checks against this Protocol. Nothing here imports the heavy layers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from assistant.chat.events import ChatEvent, Notice, PlannedCall
    from assistant.chat.first_run import FirstRun
    from assistant.chat.history import HistoryStore, Message
    from assistant.chat.loading import StageCallback
    from assistant.chat.model_info import ModelInfo
    from assistant.core.decoding import DecodingSettings
    from assistant.core.engine import Engine
    from assistant.core.types import TokenStep


ApproveFn = Callable[["PlannedCall"], bool]


class ChatSessionLike(Protocol):
    """One conversation: turns, forks, and the stored branch the next turn continues."""

    approve: ApproveFn | None  # asked for tools that are not auto-approved; None denies
    default_decoding: DecodingSettings  # what a turn uses when given no settings

    @property
    def conversation_id(self) -> int | None: ...

    prefix_key: str  # the engine keeps this conversation's last KV cache under it

    @property
    def first_run(self) -> FirstRun | None:
        """The configured model's download offer after load (None: never offers)."""
        ...

    def load(self, on_stage: StageCallback | None = None) -> list[Notice]:
        """Load model, embedder, index and tool servers, each stage reported to ``on_stage``;
        what failed comes back as Notices."""
        ...

    def close(self) -> None: ...

    def model_info(self) -> ModelInfo | None:
        """The loaded generator (or a dry run's tokenizer); None before anything loaded.
        Never loads anything itself."""
        ...

    def loaded_engine(self) -> Engine | None:
        """The engine for inspection (lookups, /probs, /compare), None until it is loaded."""
        ...

    def history_store(self) -> HistoryStore | None:
        """The conversation store, None when it cannot be opened."""
        ...

    def new_conversation(self) -> None: ...

    def open_conversation(self, conversation_id: int) -> list[Message]: ...

    def branch_from(self, message_id: int) -> None: ...

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

    def regenerate(
        self,
        text: str,
        *,
        decoding: DecodingSettings | None = None,
        stop_event: threading.Event | None = None,
    ) -> Iterator[ChatEvent]:
        """Answer ``text`` again as a sibling of the current branch's latest answer."""
        ...

    def fork(
        self,
        prompt: str,
        steps: Sequence[TokenStep],
        index: int,
        token_id: int,
        *,
        decoding: DecodingSettings,
        message_id: int | None = None,
        stop_event: threading.Event | None = None,
    ) -> Iterator[ChatEvent]:
        """Keep ``steps[:index]`` of an answer to ``prompt``, put ``token_id`` at ``index``
        and let the model continue: TokenGenerated events, then TurnDone (or TurnError).
        The fork is stored as a sibling of answer ``message_id`` and the next turn
        continues from it."""
        ...
