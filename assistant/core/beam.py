"""Beam search through HF ``generate``, turned into TokenSteps with consistent scores.

``processed_logprob`` of each step is HF's transition score (``compute_transition_scores``),
so their sum divided by length**length_penalty is the reported sequence score. The raw
logprob, rank and raw alternatives come from HF's unprocessed logits of the beam each token
was chosen on (``output_logits``).

The prompt is prefilled once, by the plan's runner into the plan's cache (which may already
hold it: a kept conversation prefix), and handed to ``generate`` repeated for every beam: HF
would otherwise prefill num_beams copies of it (on GPT-2 small and a 900-token RAG prompt,
4 × ~1 s before the first beam step).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from transformers import (
    DynamicCache,
    LogitsProcessor,
    LogitsProcessorList,
    StoppingCriteria,
    StoppingCriteriaList,
)

from assistant.core.decoding import hf_generate_kwargs
from assistant.core.request import DecodeRequest
from assistant.core.runner import KVCache
from assistant.core.sampler import rank_of, use_threads
from assistant.core.textstream import IncrementalDecoder
from assistant.core.types import FinishReason, TokenStep

if TYPE_CHECKING:
    import threading


class EventStoppingCriteria(StoppingCriteria):
    """Lets a UI stop HF ``generate`` between steps."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any
    ) -> Any:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool)


# Called once per search step with the running beams' tokens so far, best first.
BeamWatch = Callable[[list[list[int]]], None]


class BeamWatcher(LogitsProcessor):
    """Shows a UI the running beams as the search goes (HF's beam search hands each step's
    logits processors the running sequences, best first). Leaves the scores as they are."""

    def __init__(self, watch: BeamWatch, prompt_length: int) -> None:
        self.watch = watch
        self.prompt_length = prompt_length

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> Any:
        self.watch([row[self.prompt_length :] for row in input_ids.tolist()])
        return scores


@torch.inference_mode()
def beam_steps(
    request: DecodeRequest, watch: BeamWatch | None = None
) -> tuple[list[TokenStep], FinishReason, float]:
    """The best beam's steps, why it ended, and HF's length-normalised sequence score;
    ``watch`` sees the running beams at every step (they are not final: any may lose)."""
    settings, model, plan = request.settings, request.model, request.plan
    eos = request.eos_token_id
    ids = request.prompt_ids
    cache = plan.cache
    previous_threads = torch.get_num_threads()
    consistent = True  # the plan's cache holds exactly ids[: cache.length]
    try:
        if len(ids) - 1 > cache.length:  # all but the last id: generate feeds that one
            use_threads(plan.threads.prefill)
            consistent = False
            plan.prefill.forward(torch.tensor([ids[cache.length : len(ids) - 1]]), cache)
            consistent = True
        use_threads(plan.threads.decode)
        out = _generate(request, _beam_cache(cache, settings.num_beams), watch)
    finally:
        use_threads(previous_threads)
        if consistent and plan.release is not None:
            plan.release(ids[: cache.length], cache)
    transition = model.compute_transition_scores(
        out.sequences, out.scores, out.beam_indices, normalize_logits=False
    )[0]
    generated = out.sequences[0, len(ids) :].tolist()
    length = len(generated)
    if eos in generated:
        length = generated.index(eos) + 1
    generated = generated[:length]
    sequence_score = float(out.sequences_scores[0])

    reason: FinishReason = "length"
    if generated and generated[-1] == eos:
        reason = "eos"
    elif request.stop_event.is_set():
        reason = "cancelled"

    steps: list[TokenStep] = []
    decoder = IncrementalDecoder(request.decode)
    texts = request.token_texts
    k = settings.top_logprobs
    for t, token in enumerate(generated):
        beam = int(out.beam_indices[0, t])
        logits = out.logits[t][beam].float()
        raw_logprobs = torch.log_softmax(logits, dim=-1)
        processed = out.scores[t][beam].float()
        steps.append(
            TokenStep(
                index=t,
                token_id=token,
                text="" if token == eos else decoder.push(token),
                logprob=float(raw_logprobs[token]),
                processed_logprob=float(transition[t]),
                rank=rank_of(logits, token),
                top=texts.top(raw_logprobs, k),
                top_processed=texts.top(processed, k),
                token=texts.text(token),
                probabilities=plan.probabilities,
            )
        )
    return steps, reason, sequence_score


def _beam_cache(cache: KVCache, beams: int) -> DynamicCache | None:
    """The prompt's keys and values once per beam, as HF's beam search expects them:
    broadcast views, not copies (the first step's ``torch.cat`` materialises them anyway)."""
    states = cache.layer_states()
    if not states:
        return None
    return DynamicCache(
        ddp_cache_data=[
            (keys.expand(beams, -1, -1, -1), values.expand(beams, -1, -1, -1))
            for keys, values in states
        ]
    )


def _generate(request: DecodeRequest, cache: DynamicCache | None, watch: BeamWatch | None) -> Any:
    prompt = torch.tensor([request.prompt_ids])
    eos = request.eos_token_id
    kwargs: dict[str, Any] = {} if cache is None else {"cache": cache}
    if watch is not None:
        watcher = BeamWatcher(watch, len(request.prompt_ids))
        kwargs["logits_processor"] = LogitsProcessorList([watcher])
    return request.model.generate(
        prompt,
        attention_mask=torch.ones_like(prompt),
        **hf_generate_kwargs(request.settings),
        **kwargs,
        output_scores=True,
        output_logits=True,
        return_dict_in_generate=True,
        pad_token_id=eos,
        eos_token_id=eos,
        stopping_criteria=StoppingCriteriaList([EventStoppingCriteria(request.stop_event)]),
    )
