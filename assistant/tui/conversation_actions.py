"""Conversations: new chat, history browser and reopen, export, copy. A mixin of the app."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from assistant.tui.widgets.answer_block import AnswerBlock
from assistant.tui.widgets.assistant_message import AssistantMessage
from assistant.tui.widgets.cards import ToolCard, UserMessage
from assistant.tui.widgets.sources import SourcesList

if TYPE_CHECKING:
    from textual.app import App

    from assistant.chat.session_protocol import ChatSessionLike
    from assistant.tui.turn_runner import TurnRunner

    _Base = App[None]
else:
    _Base = object


def steps_from_record(tokens: list[Any] | None) -> list[Any]:
    """TokenSteps back from stored per-token dicts (unknown shapes give no steps)."""
    if not tokens:
        return []
    from assistant.core.types import TokenStep

    try:
        return [TokenStep.from_dict(item) for item in tokens]
    except (KeyError, TypeError, ValueError, AttributeError):
        return []


class ConversationActions(_Base):
    session: ChatSessionLike | None
    runner: TurnRunner
    export_dir: Path
    last_question: str | None

    def _message_log(self) -> Any:
        """The MessageLog (typed loosely: importing app.py here would be circular)."""
        return self.query_one("#log")

    def _history(self) -> Any:
        history = self.session.history_store() if self.session is not None else None
        if history is None:
            self.notify("No conversation history yet (still loading?).", severity="warning")
        return history

    def command_new(self, _: str) -> None:
        self.runner.stop()
        if self.session is not None:
            self.session.new_conversation()
        self._message_log().clear()
        self.last_question = None
        self.notify("New conversation.")

    def command_copy(self, _: str) -> None:
        focused = self.focused
        if isinstance(focused, AssistantMessage | UserMessage):
            text = focused.text
        else:
            answers = list(self.query(AssistantMessage))
            if not answers:
                self.notify("Nothing to copy yet.", severity="warning")
                return
            text = answers[-1].text
        self.copy_to_clipboard(text)
        self.notify("Copied to the clipboard.")

    # ------------------------------------------------------------------ history
    def command_history(self, _: str) -> None:
        from assistant.tui.screens.history import HistoryScreen

        history = self._history()
        if history is not None:
            self.push_screen(HistoryScreen(history), self._open_conversation)

    def _open_conversation(self, conversation_id: int | None) -> None:
        if conversation_id is None or self.session is None:
            return
        self.runner.stop()
        messages = self.session.open_conversation(conversation_id)
        log = self._message_log()
        log.clear()
        self.last_question = None
        answered: set[int | None] = set()  # parents that already have an answer shown
        for message in messages:
            if message.role == "user":
                log.mount(UserMessage(message.text))
                self.last_question = message.text
            elif message.role == "assistant":
                # A second answer to the same question is a branch (a fork or regeneration).
                label = "branch" if message.parent_id in answered else "assistant"
                answered.add(message.parent_id)
                log.mount(self._past_answer(message, label))
        self.notify(f"Opened conversation #{conversation_id}.")

    def _past_answer(self, message: Any, label: str) -> AnswerBlock:
        decoding = None
        if message.decoding:
            from assistant.core.decoding import DecodingSettings
            from assistant.errors import UsageError

            try:
                decoding = DecodingSettings.from_mapping(message.decoding)
            except (UsageError, TypeError):
                decoding = None
        steps = steps_from_record(message.tokens)
        budget = message.budget if isinstance(message.budget, dict) else {}
        answer = AssistantMessage(
            prompt=str(budget.get("prompt", "")),
            steps=steps,
            text=message.text,
            decoding=decoding,
            message_id=message.id,
            label=label,
            finish_reason=str(getattr(message, "finish_reason", None) or ""),
        )
        # The same cards as the live turn showed (older rows without structured content
        # show the result text).
        children: list[Any] = [
            ToolCard.from_record(call)
            for call in message.tool_calls or []
            if isinstance(call, dict)
        ]
        children.append(answer)
        if message.sources:
            passages = tuple(SimpleNamespace(**_passage_fields(s)) for s in message.sources)
            children.append(SourcesList(passages))
        block = AnswerBlock(decoding, label=label, children=children)
        block.message = answer
        return block

    # ------------------------------------------------------------------ export
    def command_export(self, arg: str) -> None:
        fmt = (arg or "md").lower().lstrip(".")
        if fmt not in ("md", "markdown", "json"):
            self.notify("usage: /export [md|json]", severity="warning", markup=False)
            return
        history = self._history()
        conversation_id = self.session.conversation_id if self.session is not None else None
        if history is None or conversation_id is None:
            return
        suffix = "json" if fmt == "json" else "md"
        path = Path(self.export_dir) / f"conversation-{conversation_id}.{suffix}"

        def work() -> None:
            if suffix == "json":
                content = json.dumps(history.export_json(conversation_id), ensure_ascii=False)
            else:
                content = history.export_markdown(conversation_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            self.call_from_thread(self.notify, f"Exported to {path}", markup=False)
            self.call_from_thread(self._exported, path)

        self.run_worker(work, thread=True, group="export")

    def _exported(self, path: Path) -> None:
        self.last_export = path


def _passage_fields(data: dict[str, Any]) -> dict[str, Any]:
    fields = {"path": "", "start_line": 0, "end_line": 0, "page": None, "text": "", "score": 0.0}
    fields.update({k: data.get(k, v) for k, v in fields.items()})
    fields["dense_score"] = data.get("dense_score")
    fields["lexical_score"] = data.get("lexical_score")
    fields["sparse_score"] = data.get("sparse_score")
    if data.get("source"):  # the label the prompt gave it (token provenance names it)
        fields["source"] = str(data["source"])
    return fields
