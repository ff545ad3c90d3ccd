"""The decoding pipeline of one token as a table per stage: what the distribution looked
like after each logits processor, how many tokens stayed possible, the mass each removed,
and where the chosen token stood (▶)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

from assistant.tui.safe_text import join, literal, quoted

if TYPE_CHECKING:
    from assistant.core.pipeline_explain import PipelineExplanation, PipelineStage

SHOWN_PER_STAGE = 8


def stage_rows(number: int, stage: PipelineStage, chosen_id: int | None) -> Content:
    if stage.chosen_prob is None:
        chosen = ""
    elif stage.chosen_rank is None:
        chosen = " · chosen token removed"
    else:
        chosen = f" · chosen {stage.chosen_prob:.2%} (rank {stage.chosen_rank})"
    removed = f"removed {stage.removed_mass:.2%}" if number else "the model's own"
    out = join(
        (f"{number}. {stage.name}", "bold"),
        f"  kept {stage.kept:,} · {removed}{chosen}",
    )
    for prob in stage.top[:SHOWN_PER_STAGE]:
        mark = "▶" if prob.token_id == chosen_id else " "
        bar = "█" * max(1, round(prob.prob * 20)) if prob.prob >= 0.025 else ""
        out = out + literal(f"\n {mark} {prob.prob:7.2%} {bar:<20} ") + literal(quoted(prob.text))
    return out


def pipeline_content(explanation: PipelineExplanation) -> Content:
    out = Content("")
    for number, stage in enumerate(explanation.stages):
        if number:
            out = out + literal("\n\n")
        out = out + stage_rows(number, stage, explanation.token_id)
    if len(explanation.stages) == 1:
        out = out + literal(
            "\n\nNo logits processor ran: greedy decoding without penalties takes the raw "
            "distribution's top token.",
            "italic",
        )
    return out


class PipelineView(Static):
    """Shows one PipelineExplanation (``show``); empty until the first arrives."""

    def show(self, explanation: PipelineExplanation) -> None:
        self.update(pipeline_content(explanation))
