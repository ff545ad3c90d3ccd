"""The logit lens as a compact table: one row per layer, the chosen token's rank and
probability there, and the layer's own top tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

from assistant.tui.safe_text import join, quoted

if TYPE_CHECKING:
    from assistant.core.lens import LogitLens

NAME_WIDTH = 18
TOP_SHOWN = 5


def percent(prob: float) -> str:
    """Whole percents, and "<1%" rather than a misleading 0%."""
    return f"{prob:.0%}" if prob >= 0.005 else "<1%"


def lens_title(lens: LogitLens) -> Content:
    where = "the answer's token" if lens.chosen_source == "text" else "the model's top-1"
    return join(
        ("choosing ", "bold"),
        (quoted(lens.chosen_text), "bold"),
        f" ({where}) after {quoted(lens.context_token)} at position {lens.position}",
    )


def lens_table(lens: LogitLens) -> Content:
    """The rows, top layer last (the model's output), the chosen token marked ▶ where it is
    the layer's top-1."""
    rows: list[tuple[str, str] | str] = [
        (f"{'layer':<{NAME_WIDTH}} {'rank':>6} {'p chosen':>9}   top tokens of the layer", "bold")
    ]
    for layer in lens.layers:
        mark = "▶" if layer.chosen_rank == 1 else " "
        rows.append(
            f"\n{layer.name:<{NAME_WIDTH}} {layer.chosen_rank:>6} {layer.chosen_prob:>9.2%} {mark} "
        )
        for index, prob in enumerate(layer.top[:TOP_SHOWN]):
            style = "bold" if prob.token_id == lens.chosen_id else ""
            rows.append((f"{'  ' if index else ''}{quoted(prob.text)} {percent(prob.prob)}", style))
    return join(*rows)


class LensView(Static):
    """Shows one LogitLens (``show``) or a status line while it is computed."""

    def show(self, lens: LogitLens) -> None:
        self.lens = lens
        self.update(lens_title(lens) + Content("\n\n") + lens_table(lens))
