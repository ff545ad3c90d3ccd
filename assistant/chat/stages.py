"""Pieces of a turn that need no session state: timing a stage, and running tool calls.

``timed`` turns every failure inside a stage into ``TurnFailed`` (the session yields it as a
TurnError event); ``run_tools`` calls the planned tools one by one and records each result
twice — verbatim for the user, compact and capped for the model (see ``tool_text``). The
history keeps a call's text and structured content, so a reopened conversation shows the
same tool card as the live turn.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from assistant.chat.events import ChatEvent, PlannedCall, ToolCallFinished, ToolCallStarted
from assistant.chat.tool_text import DEFAULT_MAX_CHARS, cap_text, prompt_text
from assistant.chat.turn_record import TurnRecord
from assistant.errors import AssistantError

if TYPE_CHECKING:
    from assistant.tools.client import ToolHub

log = logging.getLogger(__name__)
STORED_RESULT_CHARS = 100_000  # the history keeps this much of a tool result


def storable_structured(structured: dict[str, Any] | None) -> dict[str, Any] | None:
    """A result's structured content for the history, or None when it is larger than the
    text the history keeps (the card then shows the text instead)."""
    if not structured:
        return None
    try:
        size = len(json.dumps(structured, ensure_ascii=False))
    except (TypeError, ValueError):  # not plain JSON data: keep the text only
        return None
    return structured if size <= STORED_RESULT_CHARS else None


class TurnFailed(Exception):
    def __init__(self, stage: str, message: str) -> None:
        super().__init__(message)
        self.stage, self.message = stage, message


def timed(record: TurnRecord, stage: str, fn: Callable[[], Any], timing_key: str = "") -> Any:
    """Run one stage, adding its seconds to ``record.timing[timing_key or stage]``; any
    failure becomes TurnFailed(stage, one-line message)."""
    key = timing_key or stage
    began = time.perf_counter()
    try:
        return fn()
    except TurnFailed:
        raise
    except AssistantError as exc:
        raise TurnFailed(stage, str(exc)) from exc
    except Exception as exc:
        log.exception("chat turn failed in %s", stage)
        raise TurnFailed(stage, f"{type(exc).__name__}: {exc}") from exc
    finally:
        record.timing[key] = record.timing.get(key, 0.0) + time.perf_counter() - began


class Unavailable:
    """A ToolResult-shaped failure for when no tool hub could be started."""

    def __init__(self, message: str) -> None:
        self.ok, self.approved, self.structured = False, True, None
        self.text = self.error = message
        self.prompt_text, self.truncated, self.duration_s = message, False, 0.0


def run_tools(
    record: TurnRecord,
    hub: ToolHub | None,
    calls: list[PlannedCall],
    approve: Callable[[PlannedCall], bool] | None,
    call_ids: Iterator[str],
    stop: threading.Event,
) -> Iterator[ChatEvent]:
    """Call each planned tool (never raises for tool failures); stops early when cancelled."""
    limit = getattr(getattr(hub, "config", None), "max_result_chars", DEFAULT_MAX_CHARS)
    for call in calls:
        if stop.is_set():
            return
        call_id = next(call_ids)
        yield ToolCallStarted(call_id, call)
        if hub is None:
            result: Any = Unavailable("tools are unavailable")
        else:

            def invoke(hub: ToolHub = hub, call: PlannedCall = call) -> Any:
                return hub.call(
                    call.server, call.tool, call.arguments, approve=approve, reason=call.reason
                )

            result = timed(record, "tools", invoke)
        text_for_model, cut = prompt_text(call, result, limit)
        if text_for_model is not None:
            record.tool_texts.append(text_for_model)
            record.tool_texts_capped.append(cut)
        record.tool_calls.append(
            {
                "call_id": call_id,
                "name": call.name,
                "server": call.server,
                "tool": call.tool,
                "arguments": call.arguments,
                "reason": call.reason,
                "ok": result.ok,
                "approved": result.approved,
                "text": cap_text(result.text, STORED_RESULT_CHARS)[0],
                "structured": storable_structured(result.structured),
                "error": result.error,
                "duration_s": result.duration_s,
                "prompt_truncated": cut,
            }
        )
        yield ToolCallFinished(
            call_id,
            call,
            result.ok,
            result.text,
            result.duration_s,
            result.structured,
            result.approved,
            cut,
        )
