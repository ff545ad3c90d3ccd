"""The decoding pipeline of one generated token, stage by stage.

For step N of a generation, the model's logits are passed through the same logits
processors the engine used (built by ``Engine.stream``: one home for the chain), one at a
time, in their order (repetition penalty → no-repeat n-grams → context-aware guidance →
temperature → top-k → top-p → typical → passage copy). After each stage we record the top of
the distribution (softmax of the scores at that stage), how many tokens are still possible,
and how much probability the stage removed.

The step is replayed: with only stateless processors (penalties, temperature, top-k/p,
typical) one forward pass over the prompt and the earlier tokens gives the step's logits
(equal to the decode loop's to float rounding, ~1e-7). The passage copy and the guidance
processor keep state across steps, so with either the earlier tokens are fed one at a time
through the KV cache, as the decode loop does, and every processor sees every earlier step.
Either way the last stage is the distribution the token was drawn from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import torch

from assistant.core.hf_cache import preallocated_cache
from assistant.core.types import TokenProb
from assistant.errors import UsageError

if TYPE_CHECKING:
    from assistant.core.decoding import DecodingSettings
    from assistant.core.engine import Engine
    from assistant.core.grounding_input import GroundingInput

MAX_STAGE_TOP = 50


@dataclass(frozen=True)
class PipelineStage:
    """The distribution after one stage (the first stage is the raw model)."""

    name: str
    top: tuple[TokenProb, ...]
    kept: int  # tokens still possible (finite score)
    removed_mass: float  # probability, under the previous stage, of the tokens this one removed
    chosen_prob: float | None  # the generated token's probability at this stage
    chosen_rank: int | None  # and its rank (1-based); None when it was removed

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kept": self.kept,
            "removed_mass": self.removed_mass,
            "chosen_prob": self.chosen_prob,
            "chosen_rank": self.chosen_rank,
            "top": [
                {"token_id": t.token_id, "text": t.text, "prob": t.prob, "logprob": t.logprob}
                for t in self.top
            ],
        }


@dataclass(frozen=True)
class PipelineExplanation:
    step: int
    token_id: int | None  # the generated token, when known
    token: str
    stages: tuple[PipelineStage, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "token_id": self.token_id,
            "token": self.token,
            "stages": [stage.to_dict() for stage in self.stages],
        }


def stage_name(processor: Any) -> str:
    """A readable name with the processor's setting ("temperature 0.7", "top-p 0.9")."""
    from transformers import (
        NoRepeatNGramLogitsProcessor,
        RepetitionPenaltyLogitsProcessor,
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
        TypicalLogitsWarper,
        UnbatchedClassifierFreeGuidanceLogitsProcessor,
    )

    from assistant.core.grounding import PassageCopyProcessor

    if isinstance(processor, RepetitionPenaltyLogitsProcessor):
        return f"repetition penalty {processor.penalty:g}"
    if isinstance(processor, NoRepeatNGramLogitsProcessor):
        return f"no-repeat {processor.ngram_size}-grams"
    if isinstance(processor, UnbatchedClassifierFreeGuidanceLogitsProcessor):
        return f"context-aware guidance ×{processor.guidance_scale:g}"
    if isinstance(processor, TemperatureLogitsWarper):
        return f"temperature {processor.temperature:g}"
    if isinstance(processor, TopKLogitsWarper):
        return f"top-k {processor.top_k}"
    if isinstance(processor, TopPLogitsWarper):
        return f"top-p {processor.top_p:g}"
    if isinstance(processor, TypicalLogitsWarper):
        return f"typical {processor.mass:g}"
    if isinstance(processor, PassageCopyProcessor):
        return f"passage copy (strength {processor.strength:g})"
    return type(processor).__name__


def explain_step(
    engine: Engine,
    prompt: str,
    token_ids: Sequence[int],
    step: int,
    settings: DecodingSettings,
    grounding: GroundingInput | None = None,
    k: int = 10,
) -> PipelineExplanation:
    """Every stage of the pipeline at generated position ``step`` (0-based), after the
    generated ``token_ids[:step]``; ``token_ids[step]``, when given, is followed through the
    stages. Raises UsageError for beam search or a step outside the tokens."""
    if settings.strategy == "beam":
        raise UsageError(
            "the pipeline view explains greedy and sampled steps (beam search scores whole "
            "beams, not one distribution per token)"
        )
    if not 1 <= k <= MAX_STAGE_TOP:
        raise UsageError(f"invalid k: must be ≥ 1 and ≤ {MAX_STAGE_TOP} (got {k})")
    if not 0 <= step <= len(token_ids):
        raise UsageError(
            f"invalid step {step}: the answer has {len(token_ids)} tokens "
            f"(steps 0 … {max(len(token_ids) - 1, 0)})"
        )
    if step >= settings.max_new_tokens:
        settings = settings.replace(max_new_tokens=step + 1)
    # The engine builds the chain (and fits the prompt) exactly as for the generation; the
    # stream is never iterated, so it decodes nothing and takes no lock.
    request = engine.stream(prompt, settings, grounding=grounding).request
    prompt_ids = request.prompt_ids
    forced = [int(t) for t in token_ids[:step]]
    chosen = int(token_ids[step]) if step < len(token_ids) else None
    with engine.lock, torch.inference_mode():
        if any(_keeps_state(p) for p in request.processors):
            logits = _replay(engine.model, request.processors, prompt_ids, forced)
        else:
            logits = _prefill(engine.model, prompt_ids + forced)
        stages = _stages(engine, request.processors, prompt_ids + forced, logits, chosen, k)
    return PipelineExplanation(
        step=step,
        token_id=chosen,
        token=engine.token_texts.text(chosen) if chosen is not None else "",
        stages=tuple(stages),
    )


def _keeps_state(processor: Any) -> bool:
    """Whether a processor carries state from step to step (it must see every step)."""
    from transformers import UnbatchedClassifierFreeGuidanceLogitsProcessor

    from assistant.core.grounding import PassageCopyProcessor

    stateful = (PassageCopyProcessor, UnbatchedClassifierFreeGuidanceLogitsProcessor)
    return isinstance(processor, stateful)


def _prefill(model: Any, ids: list[int]) -> Any:
    """Logits after ``ids`` in one pass: for stateless processors nothing else is needed;
    they equal the decode loop's step by step ones to float rounding (~1e-7)."""
    out = model(input_ids=torch.tensor([ids], dtype=torch.long), use_cache=False, logits_to_keep=1)
    return out.logits[0, -1].float()


def _replay(model: Any, processors: Any, prompt_ids: list[int], forced: list[int]) -> Any:
    """Logits at the position after ``forced``, computed as the decode loop does; the
    processors see every earlier step (their outputs are discarded)."""
    ids = torch.tensor([prompt_ids + forced + [0]], dtype=torch.long)
    cur = len(prompt_ids)
    cache = preallocated_cache(model, len(prompt_ids) + len(forced) + 1)
    out = model(input_ids=ids[:, :cur], cache=cache, use_cache=True, logits_to_keep=1)
    past = out.cache
    logits = out.logits[0, -1].float()
    for token in forced:
        if processors:
            processors(cast(torch.LongTensor, ids[:, :cur]), logits.unsqueeze(0).clone())
        ids[0, cur] = token
        cur += 1
        out = model(input_ids=ids[:, cur - 1 : cur], cache=past, use_cache=True)
        past = out.cache
        logits = out.logits[0, -1].float()
    return logits


def _stages(
    engine: Engine,
    processors: Any,
    history: list[int],
    logits: Any,
    chosen: int | None,
    k: int,
) -> list[PipelineStage]:
    input_ids = cast(torch.LongTensor, torch.tensor([history], dtype=torch.long))
    scores = logits.unsqueeze(0).clone()
    previous = torch.log_softmax(logits, dim=-1)
    stages = [_stage(engine, "raw model", previous, None, chosen, k)]
    for processor in processors:
        scores = processor(input_ids, scores)
        logprobs = torch.log_softmax(scores[0].float(), dim=-1)
        stages.append(_stage(engine, stage_name(processor), logprobs, previous, chosen, k))
        previous = logprobs
    return stages


def _stage(
    engine: Engine,
    name: str,
    logprobs: Any,
    previous: Any,
    chosen: int | None,
    k: int,
) -> PipelineStage:
    finite = torch.isfinite(logprobs)
    removed = 0.0
    if previous is not None:
        gone = torch.isfinite(previous) & ~finite
        removed = float(torch.exp(previous[gone]).sum()) if bool(gone.any()) else 0.0
    chosen_prob = chosen_rank = None
    if chosen is not None:
        value = float(logprobs[chosen])
        chosen_prob = math.exp(value) if value > -math.inf else 0.0
        chosen_rank = int((logprobs > logprobs[chosen]).sum()) + 1 if value > -math.inf else None
    return PipelineStage(
        name=name,
        top=engine.token_texts.top(logprobs, min(k, logprobs.numel())),
        kept=int(finite.sum()),
        removed_mass=removed,
        chosen_prob=chosen_prob,
        chosen_rank=chosen_rank,
    )


__all__ = ["PipelineExplanation", "PipelineStage", "explain_step", "stage_name"]
