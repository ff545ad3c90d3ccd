"""Side panel for the token under the cursor: its probabilities (raw, after the processors
and, for a grounded token, copy and mixed with where it was copied from), the alternatives,
the probability of any text the user types, and forking from an alternative."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from assistant.core.types import PROBABILITY_SOURCES
from assistant.tui.provenance_view import (
    MODEL_CLASS,
    SOURCE_CLASSES,
    TOOL_CLASS,
    copied_from,
    copied_from_tool,
    passage_class,
    probability_rows,
    source_class,
)
from assistant.tui.safe_text import join, literal, quoted
from assistant.tui.widgets.assistant_message import BEYOND, RANK_BUCKETS

if TYPE_CHECKING:
    from assistant.core.types import TokenProb, TokenStep


def prob_table(title: str, top: Sequence[TokenProb], chosen_id: int | None) -> Content:
    rows: list[tuple[str, str] | str] = [(title, "bold")]
    if not top:
        rows.append("\n  (not recorded for this strategy)")
    for rank, prob in enumerate(top, 1):
        mark = "▶" if prob.token_id == chosen_id else " "
        rows.append(f"\n{mark}{rank:>2} {prob.prob:7.2%} {prob.logprob:7.2f}  ")
        rows.append(quoted(prob.text))
    return join(*rows)


class TokenPanel(VerticalScroll):
    """Shown beside the log while a message is in token view (p / f jump in, Esc back)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "back to the answer")]
    message: Widget | None = None  # the AssistantMessage whose cursor this panel follows

    def action_back(self) -> None:
        if self.message is not None:
            self.message.focus()

    COMPONENT_CLASSES: ClassVar[set[str]] = (
        {name for _, name, _ in RANK_BUCKETS} | {BEYOND[0]} | set(SOURCE_CLASSES)
    )

    def _swatch(self, label: str, name: str) -> Content:
        return literal(f" {label} ", self.get_visual_style(name, partial=True))

    def legend(
        self, colouring: str = "rank", copied: Sequence[int] = (), from_tool: bool = False
    ) -> Content:
        """What the colours mean (s switches between raw rank and source)."""
        if colouring == "source" and self._grounded():
            out = literal("token colour = source (s: by rank): copied from", "bold")
            for number in copied:
                out = out + " " + self._swatch(f"[{number}]", passage_class(number))
            if from_tool:
                out = out + " " + self._swatch("a tool result", TOOL_CLASS)
            out = out + " " + self._swatch("the model's own", MODEL_CLASS)
            return out + literal("\nEnter on a copied token opens its passage.")
        if colouring == "source":
            out = literal("no token provenance (grounding off): colour = raw rank", "bold")
        else:
            out = literal("token colour = raw rank (s: by source):", "bold")
        for name, label in [*((name, label) for _, name, label in RANK_BUCKETS), BEYOND]:
            out = out + " " + self._swatch(label, name)
        return out

    def _grounded(self) -> bool:
        return bool(getattr(self.message, "grounded", False))

    def compose(self) -> ComposeResult:
        yield Static(id="token-legend")
        yield Static(id="token-chosen")
        yield Static(id="token-raw")
        yield Static(id="token-processed")
        yield Input(placeholder="p: type a token, Enter: its probability", id="token-lookup")
        yield Static(id="token-lookup-result")
        yield Static(literal("f: fork from an alternative (raw p; Enter):", "bold"))
        yield OptionList(id="fork-options")

    def show_step(self, step: TokenStep | None) -> None:
        message: Any = self.message
        colouring = getattr(message, "colouring", "rank")
        copied = message.copied_passages() if message is not None else ()
        from_tool = message is not None and copied_from_tool(message.steps)
        self.query_one("#token-legend", Static).update(self.legend(colouring, copied, from_tool))
        chosen = self.query_one("#token-chosen", Static)
        fork = self.query_one("#fork-options", OptionList)
        fork.clear_options()
        self.query_one("#token-lookup-result", Static).update("")
        if step is None:
            chosen.update(literal("Move the cursor onto a token (←/→ or click)."))
            self.query_one("#token-raw", Static).update("")
            self.query_one("#token-processed", Static).update("")
            return
        chosen.update(self._probabilities(step, message))
        self.query_one("#token-raw", Static).update(
            prob_table("raw model", step.top, step.token_id)
        )
        # With grounding, the processed distribution is the mixed one the token came from.
        title = "mixed (decoded from)" if step.provenance else "after processors"
        if step.probabilities == "server-raw":
            title = "after processors (the server does not report them)"
        self.query_one("#token-processed", Static).update(
            prob_table(title, step.top_processed, step.token_id)
        )
        fork.add_options(
            Option(literal(f"{p.prob:6.2%} {quoted(p.text)}"), id=str(p.token_id))
            for p in step.top
            if p.token_id != step.token_id
        )
        if fork.option_count:
            fork.highlighted = 0

    def _probabilities(self, step: TokenStep, message: Any) -> Content:
        head = join((f"token {step.index + 1}: ", "bold"), quoted(step.token or step.text))
        provenance = step.provenance
        if step.probabilities == "server-raw":  # a remote model: what its server reported
            return head + join(
                f"\nraw p={step.prob:.2%} (log {step.logprob:.2f}) from the model server",
                f"\nrank {step.rank}"
                + (" (below the alternatives sent)" if step.rank > len(step.top) else ""),
                "\nafter processors: not reported by the server",
            )
        if step.probabilities != "local":  # fast mode: the numbers are approximate
            head = head + literal(f"\n{PROBABILITY_SOURCES[step.probabilities]}", "italic")
        if provenance is None:  # grounding off: raw and processed, as always
            return head + join(
                f"\nraw p={step.prob:.2%} (log {step.logprob:.2f}) rank {step.rank}",
                f"\nafter processors p={step.processed_prob:.2%}",
            )
        rows = probability_rows(step)
        width = max(len(label) for label, _ in rows) + 1
        out = head
        for label, value in rows:
            out = out + join(f"\n{label:<{width}}", (value, "bold"))
        passage = message.passage_of(step) if message is not None else None
        colour = source_class(step) or MODEL_CLASS
        return out + literal("\n") + self._swatch(copied_from(provenance, passage), colour)

    def show_lookup(self, text: str, rows: Sequence[tuple[str, float, int]]) -> None:
        """rows: (token text, logprob, raw rank) for each token of the typed text."""
        parts: list[tuple[str, str] | str] = [(f"{quoted(text)}:", "bold")]
        total = 0.0
        for token_text, logprob, rank in rows:
            total += logprob
            parts.append(f"\n  {quoted(token_text)} p={pow(2.718281828459045, logprob):.3%}")
            parts.append(f" rank {rank}")
        if len(rows) > 1:
            parts.append(f"\n  all {len(rows)} tokens: log p {total:.2f}")
        self.query_one("#token-lookup-result", Static).update(join(*parts))
