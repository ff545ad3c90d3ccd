"""Small immutable records the engine produces. Plain data: safe to pass to any UI or JSON."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FinishReason = Literal["eos", "stop", "length", "context", "cancelled"]


@dataclass(frozen=True)
class TokenProb:
    """One candidate token and its probability (raw model or after the decoding processors)."""

    token_id: int
    text: str
    prob: float
    logprob: float


@dataclass(frozen=True)
class TokenStep:
    """One generated token and everything the model thought about it.

    ``logprob``/``prob`` are under the raw model distribution; ``processed_logprob`` under the
    distribution actually sampled from (after temperature, top-k, top-p, penalties). ``rank`` is
    1-based under the raw distribution. ``text`` is the incrementally decoded text this token
    adds (may be "" while a multi-byte character is incomplete; the joined texts are exact).
    """

    index: int
    token_id: int
    text: str
    logprob: float
    processed_logprob: float
    rank: int
    top: tuple[TokenProb, ...] = ()
    top_processed: tuple[TokenProb, ...] = ()
    token: str = ""  # the token itself, readable even where ``text`` is still empty

    @property
    def prob(self) -> float:
        return math.exp(self.logprob)

    @property
    def processed_prob(self) -> float:
        return math.exp(self.processed_logprob)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["prob"] = self.prob
        data["processed_prob"] = self.processed_prob
        return data


@dataclass(frozen=True)
class Generation:
    """A finished generation: text, the steps behind it, and why it ended."""

    text: str
    steps: tuple[TokenStep, ...]
    finish_reason: FinishReason
    prompt_tokens: int
    truncated_prompt_tokens: int = 0
    sequence_score: float | None = None  # beam search: HF's length-normalised sequence score
    seconds: float = 0.0

    @property
    def sequence_logprob(self) -> float:
        """Sum of raw log-probabilities of the generated tokens."""
        return sum(step.logprob for step in self.steps)

    @property
    def perplexity(self) -> float:
        if not self.steps:
            return float("nan")
        return math.exp(-self.sequence_logprob / len(self.steps))

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "finish_reason": self.finish_reason,
            "prompt_tokens": self.prompt_tokens,
            "truncated_prompt_tokens": self.truncated_prompt_tokens,
            "generated_tokens": len(self.steps),
            "sequence_logprob": self.sequence_logprob,
            "perplexity": self.perplexity,
            "sequence_score": self.sequence_score,
            "seconds": self.seconds,
            "steps": [step.to_dict() for step in self.steps],
        }


@dataclass(frozen=True)
class Score:
    """Per-token log-probabilities of a given text under the model."""

    token_ids: tuple[int, ...]
    tokens: tuple[str, ...]
    logprobs: tuple[float, ...]
    windows: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total_logprob(self) -> float:
        return sum(self.logprobs)

    @property
    def mean_logprob(self) -> float:
        return self.total_logprob / len(self.logprobs) if self.logprobs else float("nan")

    @property
    def perplexity(self) -> float:
        return math.exp(-self.mean_logprob) if self.logprobs else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "tokens": [
                {"token_id": i, "token": t, "logprob": lp, "prob": math.exp(lp)}
                for i, t, lp in zip(self.token_ids, self.tokens, self.logprobs, strict=True)
            ],
            "total_logprob": self.total_logprob,
            "mean_logprob": self.mean_logprob,
            "perplexity": self.perplexity,
            "windows": self.windows,
        }
