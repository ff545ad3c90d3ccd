"""Textual messages posted by widgets to the app (dataclass style)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class SubmitText(Message):
    """The user pressed Enter in the input: a chat message or a /command."""

    text: str


@dataclass
class ForkRequested(Message):
    """Continue ``message`` from token ``index`` with ``token_id`` instead of the chosen one."""

    message: object  # widgets.assistant_message.AssistantMessage
    index: int
    token_id: int


@dataclass
class TokenLookupRequested(Message):
    """Probability of the text the user typed, at token ``index`` of ``message``."""

    message: object
    index: int
    text: str


@dataclass
class CursorMoved(Message):
    """The token cursor of an assistant message moved (or the token view was toggled)."""

    message: object
    index: int


@dataclass
class ColouringChanged(Message):
    """The token view's colouring was switched ("rank" or "source") on ``message``."""

    message: object
    colouring: str
