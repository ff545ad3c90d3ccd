"""Token provenance for the token view: source colours, the passage a token was copied from,
and the labelled probabilities of a grounded token. Plain functions, no Textual.

A grounded token's distribution is p = (1 − λ)·p_model + λ·p_copy (assistant/core/types.py
Provenance); the panel names every one of these so no probability is shown unlabelled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from assistant.tui.passage_label import passage_label

if TYPE_CHECKING:
    from assistant.core.types import Provenance, TokenStep

PASSAGE_SHADES = 6  # passage n gets shade (n - 1) % 6 + 1; beyond six the shades repeat
MODEL_CLASS = "token--model"
TOOL_CLASS = "token--tool"  # copied from a tool's result (no passage number)
PASSAGE_CLASSES = tuple(f"token--passage{i}" for i in range(1, PASSAGE_SHADES + 1))
SOURCE_CLASSES = frozenset({MODEL_CLASS, TOOL_CLASS, *PASSAGE_CLASSES})
_LABEL_TAIL = re.compile(r":\d+(?:-\d+)?(?: \(page \d+\))?$")  # "notes.md:10-30 (page 2)"


def passage_class(number: int) -> str:
    return PASSAGE_CLASSES[(max(number, 1) - 1) % PASSAGE_SHADES]


def source_class(step: TokenStep) -> str | None:
    """The colour class of a token in source colouring; None when it has no provenance
    (grounding was off): it is then coloured by rank as before."""
    provenance = step.provenance
    if provenance is None:
        return None
    if not provenance.copied:
        return MODEL_CLASS
    return TOOL_CLASS if provenance.passage is None else passage_class(provenance.passage)


def copied_passages(steps: Iterable[TokenStep]) -> tuple[int, ...]:
    """The prompt numbers of the passages any of these tokens was copied from, in order."""
    return tuple(
        sorted(
            {
                s.provenance.passage
                for s in steps
                if s.provenance is not None and s.provenance.copied and s.provenance.passage
            }
        )
    )


def copied_from_tool(steps: Iterable[TokenStep]) -> bool:
    """Whether any of these tokens was copied from a tool's result."""
    return any(
        s.provenance is not None and s.provenance.copied and s.provenance.passage is None
        for s in steps
    )


def find_passage(provenance: Provenance, passages: Sequence[Any]) -> Any:
    """The answer's source passage a token was copied from: the one with the provenance's
    label (the prompt numbers passages after the budget, so numbers can differ from the
    sources list), else the one at its number; None when neither is there."""
    if not provenance.copied:
        return None
    for passage in passages:
        if passage_label(passage) == provenance.source:
            return passage
    number = provenance.passage
    if number is not None and 1 <= number <= len(passages):
        return passages[number - 1]
    return None


def copied_from(provenance: Provenance, passage: Any = None) -> str:
    """ "copied from [n] path:line", or "the model's own" for a token not copied."""
    if not provenance.copied:
        return "the model's own (not copied from a passage)"
    if provenance.passage is None:  # a tool's result, not a document
        return f"copied from {provenance.source or 'a tool result'}"
    # As the sources list cites it (relative to its documents folder), not the absolute path.
    path = (
        getattr(passage, "name", None)
        or getattr(passage, "path", None)
        or _LABEL_TAIL.sub("", provenance.source or "")
    )
    number = f"[{provenance.passage}] " if provenance.passage is not None else ""
    line = f":{provenance.line}" if provenance.line is not None else ""
    return f"copied from {number}{path}{line}"


def probability_rows(step: TokenStep) -> list[tuple[str, str]]:
    """(label, value) for every probability of a grounded token, in decoding order."""
    provenance = step.provenance
    assert provenance is not None
    return [
        ("raw model p", f"{step.prob:.2%}  rank {step.rank}"),
        ("model p after processors", f"{provenance.model_prob:.2%}"),
        ("copy p", f"{provenance.copy_prob:.2%}"),
        ("copy weight λ", f"{provenance.weight:.2f}"),
        ("mixed p (decoded from)", f"{step.processed_prob:.2%}"),
        ("match length", f"{provenance.match_length} tokens"),
        ("share from the documents", f"{provenance.document_share:.0%}"),
    ]
