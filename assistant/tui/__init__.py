"""The Textual chat app (``assistant chat``). Only this package imports Textual."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.chat.session_protocol import ApproveFn, ChatSessionLike
    from assistant.settings import Settings
    from assistant.tui.app import AssistantApp


def build_app(settings: Settings) -> AssistantApp:
    """The app over a real ChatSession, which is built and loaded in a worker after start."""
    from assistant.tui.app import AssistantApp

    def make_session(approve: ApproveFn) -> ChatSessionLike:
        from assistant.chat.session import ChatSession

        return ChatSession(settings, approve=approve)

    return AssistantApp(make_session, export_dir=settings.data_dir / "exports")


def run_chat(settings: Settings) -> int:
    app = build_app(settings)
    app.run()
    session = app.session
    if session is not None:
        session.close()
    return 0


__all__ = ["build_app", "run_chat"]
