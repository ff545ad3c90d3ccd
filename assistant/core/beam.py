"""Beam search through HF ``generate``, turned into TokenSteps with consistent scores.

``processed_logprob`` of each step is HF's transition score (``compute_transition_scores``),
so their sum divided by length**length_penalty is the reported sequence score. The raw
logprob, rank and raw alternatives come from one extra forward pass over the chosen beam.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from assistant.core.decoding import hf_generate_kwargs
from assistant.core.request import DecodeRequest
from assistant.core.sampler import rank_of
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


@torch.inference_mode()
def beam_steps(request: DecodeRequest) -> tuple[list[TokenStep], FinishReason, float]:
    """The best beam's steps, why it ended, and HF's length-normalised sequence score."""
    settings, model = request.settings, request.model
    eos = request.eos_token_id
    prompt = torch.tensor([request.prompt_ids])
    out = model.generate(
        prompt,
        attention_mask=torch.ones_like(prompt),
        **hf_generate_kwargs(settings),
        output_scores=True,
        return_dict_in_generate=True,
        pad_token_id=eos,
        eos_token_id=eos,
        stopping_criteria=StoppingCriteriaList([EventStoppingCriteria(request.stop_event)]),
    )
    transition = model.compute_transition_scores(
        out.sequences, out.scores, out.beam_indices, normalize_logits=False
    )[0]
    generated = out.sequences[0, prompt.shape[1] :].tolist()
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
    if generated:
        full = torch.tensor([request.prompt_ids + generated])
        logits = model(input_ids=full, use_cache=False).logits[0, prompt.shape[1] - 1 : -1].float()
        raw_logprobs = torch.log_softmax(logits, dim=-1)
        decoder = IncrementalDecoder(request.decode)
        texts = request.token_texts
        k = settings.top_logprobs
        for t, token in enumerate(generated):
            beam = int(out.beam_indices[0, t])
            processed = out.scores[t][beam].float()
            steps.append(
                TokenStep(
                    index=t,
                    token_id=token,
                    text="" if token == eos else decoder.push(token),
                    logprob=float(raw_logprobs[t, token]),
                    processed_logprob=float(transition[t]),
                    rank=rank_of(logits[t], token),
                    top=texts.top(raw_logprobs[t], k),
                    top_processed=texts.top(processed, k),
                    token=texts.text(token),
                )
            )
    return steps, reason, sequence_score
