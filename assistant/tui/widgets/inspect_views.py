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
    """One column per decoding preset, filled as the presets decode (one after another: one
    model), each ending with its log-probability under the raw model and its perplexity."""

    def __init__(self, prompt: str, names: Sequence[str]) -> None:
        super().__init__()
        self.prompt = prompt
        self.names = list(names)
        self.results: list[tuple[str, Generation]] = []  # in the order they finished
        self.partial_updates = dict.fromkeys(self.names, 0)  # streamed updates per column
        self._columns: dict[str, Static] = {}
        self.border_title = "same prompt, every preset"

    def compose(self) -> ComposeResult:
        for name in self.names:
            column = Static(join(("waiting…", "italic")), classes="compare-column")
            column.border_title = name
            self._columns[name] = column
            yield column

    def show_running(self, name: str, note: str = "decoding…") -> None:
        self._columns[name].update(join((note, "italic")))

    def show_partial(self, name: str, text: str) -> None:
        self.partial_updates[name] += 1
        self._columns[name].update(join(text, ("\n\ndecoding…", "italic")))

    def show_beams(self, name: str, beams: Sequence[str]) -> None:
        """Beam search's running beams, best first: none is final until the search ends."""
        self.partial_updates[name] += 1
        rows: list[tuple[str, str] | str] = [("running beams, best first (not final):", "italic")]
        for number, text in enumerate(beams, 1):
            rows.append(f"\n{number}. ")
            rows.append(quoted(text))
        self._columns[name].update(join(*rows))

    def show_result(self, name: str, generation: Generation) -> None:
        self.results.append((name, generation))
        self._columns[name].update(
            join(
                generation.text or "(nothing)",
                (
                    f"\n\nlog p (raw model) {generation.sequence_logprob:.2f}"
                    f" · ppl {generation.perplexity:.2f}"
                    f" · {len(generation.steps)} tokens",
                    "italic",
                ),
            )
        )

    def show_error(self, name: str, message: str) -> None:
        self._columns[name].update(join((message, "bold red")))

    @property
    def done(self) -> bool:
        return len(self.results) == len(self.names)
