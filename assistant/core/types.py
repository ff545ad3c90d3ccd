"""Small immutable records the engine produces. Plain data: safe to pass to any UI or JSON."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# What a step's probabilities are (TokenStep.probabilities), in words for the token view.
PROBABILITY_SOURCES: dict[str, str] = {
    "local": "raw: the model's own distribution; processed: after the decoding processors",
    "server-raw": (
        "from the model server: raw is the model's own distribution (top alternatives only, "
        "rank past them unknown); the server does not report the distribution it sampled "
        "from, so processed is shown equal to raw"
    ),
    # Fast mode (DecodingSettings.precision; errors measured by benchmarks/latency.py).
    "int8-prefill": (
        "approximate: the prompt was read through int8 weights, the answer decoded in fp32 "
        "(bundled model: mean KL 0.0004 per step against exact, top-1 agrees 99%)"
    ),
    "int8": "approximate: int8 weights throughout (bundled model: mean KL 0.003 against exact)",
    "int8-model": "the model was loaded with int8 weights (--quantize int8): not the fp32 numbers",
}

# "sentence_end": grounding stopped at the end of a copied sentence, because the model's own
# continuation left the passages (DecodingSettings.grounded_stop).
FinishReason = Literal["eos", "stop", "length", "context", "cancelled", "sentence_end"]


@dataclass(frozen=True)
class TokenProb:
    """One candidate token and its probability (raw model or after the decoding processors)."""

    token_id: int
    text: str
    prob: float
    logprob: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenProb:
        return cls(
            int(data["token_id"]), str(data["text"]), float(data["prob"]), float(data["logprob"])
        )


@dataclass(frozen=True)
class Provenance:
    """Where a grounded token came from: the model, the passages, or both.

    The step's distribution is p = (1 − weight) · p_model + weight · p_copy, where p_model is
    the model's distribution after the other decoding processors (penalties, context-aware
    guidance, temperature, top-k/top-p) and p_copy the copy distribution over the tokens that
    follow the answer's longest suffix (``match_length`` tokens; an answer that opened on a
    passage's sentence counts its start as one) in the passages. ``source``,
    ``passage`` (1-based, as numbered in the prompt) and ``line`` say where the token was
    copied from; all three are None for a token the passages do not continue with.
    """

    model_prob: float
    copy_prob: float
    weight: float
    match_length: int
    source: str | None = None
    passage: int | None = None
    line: int | None = None

    @property
    def copied(self) -> bool:
        return self.source is not None

    @property
    def mixed_prob(self) -> float:
        return (1.0 - self.weight) * self.model_prob + self.weight * self.copy_prob

    @property
    def document_share(self) -> float:
        """The part of the mixed probability that came from the documents (0 … 1)."""
        mixed = self.mixed_prob
        return self.weight * self.copy_prob / mixed if mixed > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["copied"] = self.copied
        data["document_share"] = self.document_share
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Provenance:
        def optional_int(key: str) -> int | None:
            value = data.get(key)
            return None if value is None else int(value)

        source = data.get("source")
        return cls(
            model_prob=float(data["model_prob"]),
            copy_prob=float(data["copy_prob"]),
            weight=float(data["weight"]),
            match_length=int(data["match_length"]),
            source=None if source is None else str(source),
            passage=optional_int("passage"),
            line=optional_int("line"),
        )


@dataclass(frozen=True)
class TokenStep:
    """One generated token and everything the model thought about it.

    ``logprob``/``prob`` are under the raw model distribution; ``processed_logprob`` under the
    distribution actually sampled from (after temperature, top-k, top-p, penalties). ``rank`` is
    1-based under the raw distribution. ``text`` is the incrementally decoded text this token
    adds (may be "" while a multi-byte character is incomplete; the joined texts are exact).
    ``provenance`` is set when grounding was on: how much of the token came from the passages.
    ``probabilities`` says what the numbers are (a key of PROBABILITY_SOURCES): "local" when
    this process computed both distributions, "server-raw" when a remote server reported only
    the raw one (``processed_logprob`` then repeats ``logprob`` and ``top_processed`` is empty).
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
    provenance: Provenance | None = None
    probabilities: str = "local"

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
        data["provenance"] = self.provenance.to_dict() if self.provenance else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenStep:
        """The inverse of ``to_dict`` (stored history, JSON output); raises KeyError,
        TypeError or ValueError on a malformed record."""
        provenance = data.get("provenance")
        return cls(
            index=int(data["index"]),
            token_id=int(data["token_id"]),
            text=str(data["text"]),
            logprob=float(data["logprob"]),
            processed_logprob=float(data["processed_logprob"]),
            rank=int(data["rank"]),
            top=tuple(TokenProb.from_dict(p) for p in data.get("top", ())),
            top_processed=tuple(TokenProb.from_dict(p) for p in data.get("top_processed", ())),
            token=str(data.get("token", "")),
            provenance=Provenance.from_dict(provenance) if provenance else None,
            probabilities=str(data.get("probabilities", "local")),
        )


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
