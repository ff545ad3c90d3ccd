"""HF logits processors built from DecodingSettings, in the order HF ``generate`` applies them."""

from __future__ import annotations

import torch
from transformers import (
    LogitsProcessor,
    LogitsProcessorList,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
    TypicalLogitsWarper,
)

from assistant.core.decoding import DecodingSettings


class PrefilteredTopPLogitsWarper(TopPLogitsWarper):
    """HF's top-p with a top-k prefilter: the same kept set without sorting the vocabulary.

    HF removes a token when the ascending cumulative probability up to it is ≤ 1 − p. Every
    token outside the ``prefilter`` most likely ones has a cumulative mass ≤ the total mass
    outside them; if that mass is ≤ 1 − p, all of them go and only the prefilter needs sorting.
    Otherwise the nucleus does not fit and we fall back to HF's full sort.
    """

    def __init__(self, top_p: float, min_tokens_to_keep: int = 1, prefilter: int = 256) -> None:
        super().__init__(top_p=top_p, min_tokens_to_keep=min_tokens_to_keep)
        self.prefilter = prefilter

    def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
        vocab = scores.size(-1)
        if scores.size(0) != 1 or vocab <= self.prefilter:
            return super().__call__(input_ids, scores)
        row = scores[0]
        top_values, top_indices = torch.topk(row, self.prefilter)  # descending
        log_norm = torch.logsumexp(row, dim=-1)
        top_probs = torch.exp(top_values - log_norm)
        outside_mass = float(1.0 - top_probs.sum())
        if outside_mass > 1.0 - self.top_p:
            return super().__call__(input_ids, scores)
        ascending = top_probs.flip(0)
        cumulative = ascending.cumsum(0) + max(outside_mass, 0.0)
        remove = cumulative <= (1.0 - self.top_p)
        remove[-self.min_tokens_to_keep :] = False
        keep_indices = top_indices.flip(0)[~remove]
        out = torch.full_like(scores, self.filter_value)
        out[0, keep_indices] = scores[0, keep_indices]
        return out


class ProcessorChain(LogitsProcessorList):
    """A LogitsProcessorList called without HF's per-step ``inspect.signature`` of every
    processor (~50 µs a token, a tenth of a bundled-model step): ours take no extra kwargs."""

    def __call__(  # type: ignore[override]
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor
    ) -> torch.FloatTensor:
        for processor in self:
            scores = processor(input_ids, scores)
        return scores


def build_processors(
    settings: DecodingSettings,
    *,
    guidance: LogitsProcessor | None = None,
    copy: LogitsProcessor | None = None,
) -> LogitsProcessorList:
    """The HF processors HF ``generate`` would apply for these settings, in HF's order.

    Penalties apply to every strategy; temperature/top-k/top-p/typical only when sampling
    (as in HF, where greedy and beam ignore the sampling warpers). Grounding adds
    context-aware ``guidance`` after the penalties (HF's place for classifier-free guidance)
    and the passage ``copy`` last, so it mixes into the distribution actually sampled from.
    """
    processors: list[LogitsProcessor] = []
    if settings.repetition_penalty != 1.0:
        processors.append(RepetitionPenaltyLogitsProcessor(settings.repetition_penalty))
    if settings.no_repeat_ngram_size > 0:
        processors.append(NoRepeatNGramLogitsProcessor(settings.no_repeat_ngram_size))
    if guidance is not None:
        processors.append(guidance)
    if settings.strategy == "sample":
        if settings.temperature != 1.0:
            processors.append(TemperatureLogitsWarper(settings.temperature))
        if settings.top_k:
            processors.append(TopKLogitsWarper(settings.top_k))
        if settings.top_p < 1.0:
            processors.append(PrefilteredTopPLogitsWarper(settings.top_p))
        if settings.typical_p < 1.0:
            processors.append(TypicalLogitsWarper(mass=settings.typical_p))
    if copy is not None:
        processors.append(copy)
    return ProcessorChain(processors)
