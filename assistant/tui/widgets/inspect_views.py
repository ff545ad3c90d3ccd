"""Blocks that /probs and /compare put in the log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from assistant.tui.safe_text import join, quoted

if TYPE_CHECKING:
    from assistant.core.types import Generation, TokenProb


class ProbsView(Static):
    """The next-token table for a text."""

    def __init__(self, text: str, top: Sequence[TokenProb]) -> None:
        rows: list[tuple[str, str] | str] = [("rank  prob     logprob  token", "bold")]
        for rank, prob in enumerate(top, 1):
            rows.append(f"\n{rank:>4} {prob.prob:8.3%} {prob.logprob:8.3f}  ")
            rows.append(quoted(prob.text))
        super().__init__(join(*rows))
        self.text = text
        self.top = list(top)
        self.border_title = "next token after " + quoted(text[-40:])


class CompareView(Horizontal):
    """One column per decoding preset: the continuation, its log-probability, perplexity."""

    def __init__(self, prompt: str, results: Sequence[tuple[str, Generation]]) -> None:
        super().__init__()
        self.prompt = prompt
        self.results = list(results)
        self.border_title = "same prompt, every preset"

    def compose(self) -> ComposeResult:
        for name, generation in self.results:
            column = Static(
                join(
                    generation.text or "(nothing)",
                    (
                        f"\n\nlog p {generation.sequence_logprob:.2f}"
                        f" · ppl {generation.perplexity:.2f}"
                        f" · {len(generation.steps)} tokens",
                        "italic",
                    ),
                ),
                classes="compare-column",
            )
            column.border_title = name
            yield column
