"""A tool result as the model reads it: one short, labelled block per call.

The user sees the result verbatim (``ToolCallFinished.text``); the model gets a compact form —
"calculator.evaluate: 12% of 3400 = 408" rather than a JSON object — capped in size, so a
1 MB file cannot crowd the course passages out of the prompt. Failed calls are not given to
the model: a base model would only continue the error text.
"""

from __future__ import annotations

from typing import Any

from assistant.chat.events import PlannedCall

DEFAULT_MAX_CHARS = 4000


def cap_text(text: str, max_chars: int) -> tuple[str, bool]:
    """At most ``max_chars`` characters, with a marker saying how much was cut."""
    if len(text) <= max_chars:
        return text, False
    marker = f"\n[… cut: {len(text) - max_chars:,} of {len(text):,} characters omitted]"
    keep = max(0, max_chars - len(marker))
    newline = text.rfind("\n", 0, keep)  # prefer a whole line when one ends close by
    if newline >= keep * 0.8:
        keep = newline
    return text[:keep] + marker, True


def _compact(call: PlannedCall, structured: dict[str, Any] | None, fallback: str) -> str:
    data = structured or {}
    if call.tool == "evaluate" and "display" in data:
        return f"{data.get('expression', call.arguments.get('expression', ''))} = {data['display']}"
    if call.tool == "read_file" and "content" in data:
        where = f"{data.get('path', '?')} lines {data.get('start_line')}-{data.get('end_line')}"
        return f"{where} of {data.get('total_lines', '?')}:\n{data['content']}"
    return fallback


def prompt_text(
    call: PlannedCall, result: Any, max_chars: int = DEFAULT_MAX_CHARS
) -> tuple[str | None, bool]:
    """(text for the prompt or None for a failed call, whether it was cut)."""
    if not result.ok:
        return None, False
    body = _compact(call, result.structured, result.prompt_text)
    text, cut = cap_text(f"{call.name}: {body}", max_chars)
    return text, cut or bool(result.truncated)
