"""The plain-text prompt format the assistant gives a base model.

GPT-2 follows no instructions, so the format is one it can continue: numbered context
passages with their source, optional tool results and history, then the question and an
answer cue. The bundled model is trained on examples in exactly this format, so keep
``render_prompt`` and ``STOP_STRINGS`` stable (retrain the bundled model if they change).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

HEADER = "Answer the question using the context.\n\n"
ANSWER_CUE = "Answer:"
# An answer ends where the model starts a new section of the template.
STOP_STRINGS: tuple[str, ...] = ("\nQuestion:", "\nContext:", "\n\n\n", "<|endoftext|>")


@dataclass(frozen=True)
class ContextPassage:
    source: str  # e.g. "corpus/decoding.md:12-30"
    text: str


def format_passage(number: int, passage: ContextPassage) -> str:
    return f"[{number}] ({passage.source})\n{passage.text.strip()}\n"


def render_prompt(
    question: str,
    passages: Sequence[ContextPassage] = (),
    tool_results: Sequence[str] = (),
    history: Sequence[tuple[str, str]] = (),
) -> str:
    """Render one turn. ``history`` holds (question, answer) pairs, oldest first."""
    parts = [HEADER]
    if passages:
        parts.append("Context:\n")
        parts.extend(format_passage(i, p) + "\n" for i, p in enumerate(passages, start=1))
    if tool_results:
        parts.append("Tool results:\n")
        parts.extend(result.strip() + "\n" for result in tool_results)
        parts.append("\n")
    for past_question, past_answer in history:
        parts.append(f"Question: {past_question.strip()}\n{ANSWER_CUE} {past_answer.strip()}\n\n")
    parts.append(f"Question: {question.strip()}\n{ANSWER_CUE}")
    return "".join(parts)
