"""What grounding gets from a chat turn: the question, the passages the prompt shows and the
turn's tool results.

The passages go in prompt order with their labels, so provenance's passage numbers are the
prompt's ``[n]``; the tool results follow (marked ``tool``: they outrank the passages, so an
answer to "what is 2^100 / 7" copies the calculator's result rather than a sentence about
logits, and they are never cited as a passage). For context-aware decoding the same prompt
without the passages is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assistant.chat.events import PromptBudget
from assistant.chat.template import ContextPassage
from assistant.core.grounding_input import GroundingInput, SourceText
from assistant.core.relevance import Relevance


def grounding_input(
    question: str, budget: PromptBudget, relevance: Relevance | None = None
) -> GroundingInput | None:
    """None when the prompt holds no passage and no tool result (grounding then leaves the
    model alone)."""
    passages = tuple(SourceText(p.source, p.text) for p in budget.passages)
    tools = tuple(
        SourceText(f"tool result {i}", text, first_line=1, tool=True)
        for i, text in enumerate(budget.tool_results, start=1)
        if text.strip()
    )
    if not passages and not tools:
        return None
    return GroundingInput(
        question=question,
        sources=passages + tools,
        relevance=relevance,
        unconditional_prompt=budget.prompt_without_passages or None,
    )


def stored_grounding(
    question: str, budget: Mapping[str, Any] | None, relevance: Relevance | None = None
) -> GroundingInput | None:
    """The grounding of a stored answer, from its budget as the history keeps it
    (``turn_record.budget_dict(with_prompt=True)``); None when it holds no passages or tool
    results (also for answers stored before the history kept them)."""
    if not budget:
        return None
    try:
        passages = tuple(
            ContextPassage(str(p["source"]), str(p["text"])) for p in budget.get("passages", ())
        )
        tools = tuple(str(text) for text in budget.get("tool_results", ()))
    except (KeyError, TypeError):  # not what this code writes: no grounding
        return None
    shown = PromptBudget(
        context_length=0,
        max_new_tokens=0,
        prompt_tokens=0,
        parts=(),
        prompt=str(budget.get("prompt", "")),
        passages=passages,
        prompt_without_passages=str(budget.get("prompt_without_passages", "")),
        tool_results=tools,
    )
    return grounding_input(question, shown, relevance)
