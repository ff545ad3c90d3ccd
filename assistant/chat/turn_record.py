"""What one turn gathered, in plain data: for the history store and for ``assistant ask``."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.chat.events import PromptBudget
from assistant.core.decoding import DecodingSettings
from assistant.core.types import FinishReason, TokenStep


def budget_dict(budget: PromptBudget | None, *, with_prompt: bool = False) -> dict[str, Any] | None:
    """The budget report as JSON-ready data; ``with_prompt`` adds the exact prompt text and
    what grounding read from it (the history keeps them: a fork of a reopened answer
    continues that prompt, grounded on the same passages)."""
    if budget is None:
        return None
    extra: dict[str, Any] = {}
    if with_prompt:
        extra = {
            "prompt": budget.prompt,
            "passages": [{"source": p.source, "text": p.text} for p in budget.passages],
            "tool_results": list(budget.tool_results),
            "prompt_without_passages": budget.prompt_without_passages,
        }
    return extra | {
        "context_length": budget.context_length,
        "max_new_tokens": budget.max_new_tokens,
        "available": budget.available,
        "prompt_tokens": budget.prompt_tokens,
        "parts": [asdict(part) for part in budget.parts],
        "dropped": [asdict(part) for part in budget.dropped],
    }


def passage_dict(passage: Any, included: bool, cut: bool) -> dict[str, Any]:
    data = passage.to_dict() if hasattr(passage, "to_dict") else {"source": passage.source}
    data.setdefault("text", getattr(passage, "text", ""))
    data.update(included=included, cut=cut)
    return data


@dataclass
class TurnRecord:
    text: str
    decoding: DecodingSettings
    dry_run: bool = False
    started: float = field(default_factory=time.perf_counter)
    timing: dict[str, float] = field(default_factory=dict)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tool_texts: list[str] = field(default_factory=list)  # what the model sees of them
    tool_texts_capped: list[bool] = field(default_factory=list)  # size-capped copies
    passages: list[Any] = field(default_factory=list)
    budget: PromptBudget | None = None
    steps: list[TokenStep] = field(default_factory=list)
    answer: str = ""
    finish_reason: FinishReason = "stop"
    model: str | None = None
    reused_prompt_tokens: int = 0  # prompt ids whose KV cache a previous decode left
    precision: str = "exact"  # what computed the probabilities (core.decode_plan)

    def sources(self) -> list[dict[str, Any]]:
        """Retrieved passages, each marked as included in the prompt (and cut) or not."""
        parts = [p for p in self.budget.parts if p.kind == "passage"] if self.budget else []
        states = {p.label: (p.included, p.cut) for p in parts}
        return [passage_dict(p, *states.get(str(p.source), (False, False))) for p in self.passages]

    def message_fields(self) -> dict[str, Any]:
        """Keyword arguments of ``HistoryStore.add_message`` for the answer."""
        return {
            "text": self.answer,
            "model": self.model,
            "decoding": self.decoding.to_dict(),
            "seed": self.decoding.seed,
            "tokens": [step.to_dict() for step in self.steps],
            "sources": self.sources(),
            "tool_calls": self.tool_calls,
            "budget": budget_dict(self.budget, with_prompt=True),
            "finish_reason": self.finish_reason,
        }
