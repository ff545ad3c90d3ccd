"""Several models' scores of one text side by side: per-token log-probabilities, each
model's perplexity, and the tokens where the models disagree most.

Per-token comparison needs the same token sequence under every model (the GPT-2 family
shares one tokenizer; a model trained with its own tokenizer does not): when the sequences
differ, only the perplexities are compared. Plain Python over ``Score`` records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assistant.core.types import Score
from assistant.errors import UsageError


@dataclass(frozen=True)
class ScoredModel:
    """One model's score of the text; ``name`` is what was asked for, ``source`` what
    loaded (they differ when the bundled fallback stood in)."""

    name: str
    source: str
    score: Score
    fallback: bool = False


@dataclass(frozen=True)
class TokenDisagreement:
    index: int  # position in the scored tokens
    token: str
    spread: float  # largest minus smallest log-probability across the models


@dataclass(frozen=True)
class ScoreComparison:
    models: tuple[ScoredModel, ...]
    same_tokens: bool
    disagreements: tuple[TokenDisagreement, ...]  # largest spread first (same_tokens only)

    @property
    def duplicate_note(self) -> str | None:
        """Set when two of the names loaded the same model (the bundled fallback stood in)."""
        sources = [m.source for m in self.models]
        if len(set(sources)) == len(sources):
            return None
        return (
            "some of the models loaded the same weights ("
            + ", ".join(f"{m.name} → {m.source}" for m in self.models)
            + "): they cannot disagree"
        )

    @property
    def marked(self) -> set[int]:
        return {d.index for d in self.disagreements}

    def spread(self, index: int) -> float:
        values = [m.score.logprobs[index] for m in self.models]
        return max(values) - min(values)

    def to_dict(self) -> dict[str, Any]:
        first = self.models[0].score
        data: dict[str, Any] = {
            "same_tokens": self.same_tokens,
            "models": [
                {
                    "model": m.name,
                    "source": m.source,
                    "fallback": m.fallback,
                    "tokens": len(m.score.logprobs),
                    "total_logprob": m.score.total_logprob,
                    "perplexity": m.score.perplexity,
                }
                for m in self.models
            ],
        }
        if self.duplicate_note:
            data["duplicate_note"] = self.duplicate_note
        if self.same_tokens:
            data["tokens"] = [
                {
                    "index": i,
                    "token_id": first.token_ids[i],
                    "token": first.tokens[i],
                    "logprobs": [m.score.logprobs[i] for m in self.models],
                    "spread": self.spread(i),
                    "marked": i in self.marked,
                }
                for i in range(len(first.logprobs))
            ]
            data["disagreements"] = [
                {"index": d.index, "token": d.token, "spread": d.spread} for d in self.disagreements
            ]
        else:
            data["tokens"] = None
            data["note"] = token_mismatch_note(self.models)
        return data


def token_mismatch_note(models: Sequence[ScoredModel]) -> str:
    counts = ", ".join(f"{m.name}: {len(m.score.token_ids)}" for m in models)
    return (
        f"the models tokenize the text differently ({counts} tokens): only their "
        "perplexities are comparable"
    )


def compare_scores(models: Sequence[ScoredModel], top: int = 5) -> ScoreComparison:
    """Compare the scores; the ``top`` tokens with the largest spread are marked."""
    if len(models) < 2:
        raise UsageError("comparing needs at least two models (give --model twice or more)")
    if top < 0:
        raise UsageError(f"invalid number of disagreements to mark: {top}")
    first = models[0].score.token_ids
    same = all(m.score.token_ids == first for m in models[1:])
    disagreements: list[TokenDisagreement] = []
    if same:
        tokens = models[0].score.tokens
        spreads = []
        for i in range(len(first)):
            values = [m.score.logprobs[i] for m in models]
            spreads.append((max(values) - min(values), i))
        spreads.sort(key=lambda pair: (-pair[0], pair[1]))
        disagreements = [TokenDisagreement(i, tokens[i], s) for s, i in spreads[:top]]
    return ScoreComparison(tuple(models), same, tuple(disagreements))


__all__ = [
    "ScoreComparison",
    "ScoredModel",
    "TokenDisagreement",
    "compare_scores",
    "token_mismatch_note",
]
