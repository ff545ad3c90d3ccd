"""Side panel for the token under the cursor: alternatives raw and after the processors,
the probability of any text the user types, and forking from an alternative."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from assistant.tui.safe_text import join, literal, sanitize
from assistant.tui.widgets.assistant_message import BEYOND, RANK_BUCKETS

if TYPE_CHECKING:
    from assistant.core.types import TokenProb, TokenStep


def shown(token_text: str) -> str:
    """A token in quotes, so leading spaces and newlines are visible (shown as \\n)."""
    return "'" + sanitize(token_text.replace("\n", "\\n")) + "'"


def prob_table(title: str, top: Sequence[TokenProb], chosen_id: int | None) -> Content:
    rows: list[tuple[str, str] | str] = [(title, "bold")]
    if not top:
        rows.append("\n  (not recorded for this strategy)")
    for rank, prob in enumerate(top, 1):
        mark = "▶" if prob.token_id == chosen_id else " "
        rows.append(f"\n{mark}{rank:>2} {prob.prob:7.2%} {prob.logprob:7.2f}  ")
        rows.append(shown(prob.text))
    return join(*rows)


class TokenPanel(VerticalScroll):
    """Shown beside the log while a message is in token view (p / f jump in, Esc back)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "back to the answer")]
    message: Widget | None = None  # the AssistantMessage whose cursor this panel follows

    def action_back(self) -> None:
        if self.message is not None:
            self.message.focus()

    COMPONENT_CLASSES: ClassVar[set[str]] = {name for _, name, _ in RANK_BUCKETS} | {BEYOND[0]}

    def legend(self) -> Content:
        buckets = [*((name, label) for _, name, label in RANK_BUCKETS), BEYOND]
        out = literal("token colour = raw rank:", "bold")
        for name, label in buckets:
            out = out + " " + literal(f" {label} ", self.get_visual_style(name, partial=True))
        return out

    def compose(self) -> ComposeResult:
        yield Static(id="token-legend")
        yield Static(id="token-chosen")
        yield Static(id="token-raw")
        yield Static(id="token-processed")
        yield Input(placeholder="p: type a token, Enter: its probability", id="token-lookup")
        yield Static(id="token-lookup-result")
        yield Static(literal("f: fork from an alternative (Enter):", "bold"))
        yield OptionList(id="fork-options")

    def show_step(self, step: TokenStep | None) -> None:
        self.query_one("#token-legend", Static).update(self.legend())
        chosen = self.query_one("#token-chosen", Static)
        fork = self.query_one("#fork-options", OptionList)
        fork.clear_options()
        self.query_one("#token-lookup-result", Static).update("")
        if step is None:
            chosen.update(literal("Move the cursor onto a token (←/→ or click)."))
            self.query_one("#token-raw", Static).update("")
            self.query_one("#token-processed", Static).update("")
            return
        chosen.update(
            join(
                (f"token {step.index + 1}: ", "bold"),
                shown(step.token or step.text),
                f"\nraw p={step.prob:.2%} (log {step.logprob:.2f}) rank {step.rank}",
                f"\nafter processors p={step.processed_prob:.2%}",
            )
        )
        self.query_one("#token-raw", Static).update(
            prob_table("raw model", step.top, step.token_id)
        )
        self.query_one("#token-processed", Static).update(
            prob_table("after processors", step.top_processed, step.token_id)
        )
        fork.add_options(
            Option(literal(f"{p.prob:6.2%} {shown(p.text)}"), id=str(p.token_id))
            for p in step.top
            if p.token_id != step.token_id
        )
        if fork.option_count:
            fork.highlighted = 0

    def show_lookup(self, text: str, rows: Sequence[tuple[str, float, int]]) -> None:
        """rows: (token text, logprob, raw rank) for each token of the typed text."""
        parts: list[tuple[str, str] | str] = [(f"{shown(text)}:", "bold")]
        total = 0.0
        for token_text, logprob, rank in rows:
            total += logprob
            parts.append(f"\n  {shown(token_text)} p={pow(2.718281828459045, logprob):.3%}")
            parts.append(f" rank {rank}")
        if len(rows) > 1:
            parts.append(f"\n  all {len(rows)} tokens: log p {total:.2f}")
        self.query_one("#token-lookup-result", Static).update(join(*parts))
