"""A conversation as Markdown: messages, and per answer the model, decoding settings, seed,
sources and tool calls (per-token probabilities are in the JSON export)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from assistant.chat.history_records import Conversation, Message

_HEADINGS = {"user": "You", "assistant": "Assistant", "tool": "Tool"}
_DECODING_KEYS = ("strategy", "temperature", "top_k", "top_p", "max_new_tokens", "num_beams")


def _decoding_line(decoding: dict[str, Any] | None, seed: int | None) -> str:
    if not decoding:
        return ""
    shown = [f"{k}={decoding[k]}" for k in _DECODING_KEYS if k in decoding]
    if seed is not None:
        shown.append(f"seed={seed}")
    return ", ".join(shown)


def _mean_prob(tokens: list[Any] | None) -> float | None:
    logprobs = [t["logprob"] for t in tokens or [] if isinstance(t, dict) and "logprob" in t]
    return math.exp(sum(logprobs) / len(logprobs)) if logprobs else None


def _fence(text: str) -> str:
    """A code fence longer than any backtick run in ``text``, so the text stays literal."""
    longest, run = 0, 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def _message_markdown(message: Message) -> list[str]:
    lines = [f"## {_HEADINGS.get(message.role, message.role)}", ""]
    if message.role == "assistant":
        details = [f"model `{message.model}`"] if message.model else []
        decoding = _decoding_line(message.decoding, message.seed)
        if decoding:
            details.append(decoding)
        if message.finish_reason:
            details.append(f"finish: {message.finish_reason}")
        mean = _mean_prob(message.tokens)
        if mean is not None:
            details.append(f"geometric-mean token probability {mean:.3f}")
        if details:
            lines += ["*" + " · ".join(details) + "*", ""]
    lines += [message.text.strip() or "*(empty)*", ""]
    for call in message.tool_calls or []:
        name = call.get("name", "?")
        arguments = json.dumps(call.get("arguments", {}), ensure_ascii=False)
        outcome = "ok" if call.get("ok") else "failed"
        text = str(call.get("text", ""))
        fence = _fence(text)
        lines += [f"Tool call `{name}` {arguments} ({outcome}):", "", fence, text, fence, ""]
    sources = message.sources or []
    if sources:
        lines.append("Sources:")
        for number, source in enumerate(sources, start=1):
            where = source.get("source", "?") if isinstance(source, dict) else str(source)
            lines.append(f"{number}. {where}")
        lines.append("")
    return lines


def conversation_markdown(conversation: Conversation, messages: Sequence[Message]) -> str:
    lines = [f"# {conversation.title}", "", f"*{conversation.created}*", ""]
    for message in messages:
        lines += _message_markdown(message)
    return "\n".join(lines).rstrip() + "\n"
