"""What grounding gets from a chat turn: the question and the passages the prompt shows.

The passages go in prompt order with their labels, so provenance's passage numbers are the
prompt's ``[n]``. For context-aware decoding the same prompt without the passages is given.
"""

from __future__ import annotations

from assistant.chat.events import PromptBudget
from assistant.core.grounding_input import GroundingInput, SourceText
from assistant.core.relevance import Relevance


def grounding_input(
    question: str, budget: PromptBudget, relevance: Relevance | None = None
) -> GroundingInput | None:
    """None when the prompt holds no passage (grounding then leaves the model alone)."""
    if not budget.passages:
        return None
    return GroundingInput(
        question=question,
        sources=tuple(SourceText(p.source, p.text) for p in budget.passages),
        relevance=relevance,
        unconditional_prompt=budget.prompt_without_passages or None,
    )
