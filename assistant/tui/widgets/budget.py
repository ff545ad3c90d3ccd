"""How the context window was spent on this answer, and what was dropped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

from assistant.tui.safe_text import join

if TYPE_CHECKING:
    from assistant.chat.events import PromptBudget


KIND_ORDER = ("template", "question", "tools", "passage", "history")
BAR_WIDTH = 40


def budget_summary(budget: PromptBudget) -> dict[str, int]:
    """Tokens per kind of part that made it into the prompt."""
    totals: dict[str, int] = {}
    for part in budget.parts:
        if part.included:
            totals[part.kind] = totals.get(part.kind, 0) + part.tokens
    return totals


class BudgetMeter(Static):
    def __init__(self, budget: PromptBudget) -> None:
        super().__init__(self.describe(budget))
        self.budget = budget
        self.border_title = "context budget"

    @staticmethod
    def describe(budget: PromptBudget) -> Content:
        totals = budget_summary(budget)
        used = budget.prompt_tokens
        cells = round(BAR_WIDTH * used / max(1, budget.context_length))
        reserved = round(BAR_WIDTH * budget.max_new_tokens / max(1, budget.context_length))
        bar = "█" * cells + "▒" * min(reserved, BAR_WIDTH - cells)
        bar += "·" * (BAR_WIDTH - len(bar))
        kinds = sorted(totals, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else 99)
        line = ", ".join(f"{kind} {totals[kind]}" for kind in kinds)
        parts: list[tuple[str, str] | str] = [
            (bar, "bold"),
            f" {used} prompt + {budget.max_new_tokens} answer of {budget.context_length}\n",
            line,
        ]
        cut = [p for p in budget.parts if p.included and p.cut]
        if cut:
            parts.append(("\nshortened: ", "bold"))
            parts.append(", ".join(f"{p.label} ({p.tokens})" for p in cut))
        if budget.dropped:
            parts.append(("\ndropped: ", "bold"))
            parts.append(", ".join(f"{p.label} ({p.tokens})" for p in budget.dropped))
        return join(*parts)
