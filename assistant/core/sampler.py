"""The token-by-token decode loop for greedy and sampling (KV cache, one row per step)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, cast

import torch

from assistant.core.decoding import build_processors
from assistant.core.textstream import IncrementalDecoder
from assistant.core.types import TokenStep

if TYPE_CHECKING:
    from assistant.core.engine import GenerationStream


def rank_of(logits: torch.Tensor, token_id: int) -> int:
    """1-based rank of ``token_id`` under ``logits`` (ties share the better rank)."""
    return int((logits > logits[token_id]).sum()) + 1


@torch.inference_mode()
def sample_steps(stream: GenerationStream) -> Iterator[TokenStep]:
    engine, settings = stream.engine, stream.settings
    model = engine.model
    processors = build_processors(settings)
    greedy = settings.strategy == "greedy"
    generator = None
    if settings.seed is not None:
        generator = torch.Generator().manual_seed(settings.seed)
    k = settings.top_logprobs
    eos = engine.eos_token_id
    decoder = IncrementalDecoder(engine.decode)

    prompt_len = len(stream.prompt_ids)
    # Preallocated history of ids: processors (repetition penalty, n-grams) see a view of it.
    all_ids = torch.empty((1, prompt_len + settings.max_new_tokens), dtype=torch.long)
    all_ids[0, :prompt_len] = torch.tensor(stream.prompt_ids)
    cur = prompt_len

    # Prefill: logits of the last position only (the LM head over every prompt position
    # would cost a vocabulary-sized matmul per token for nothing).
    out = model(input_ids=all_ids[:, :cur], use_cache=True, logits_to_keep=1)
    past = out.past_key_values
    logits = out.logits[0, -1].float()

    for index in range(settings.max_new_tokens):
        if stream.stop_event.is_set():
            stream.finish_reason = "cancelled"
            return
        raw_logprobs = torch.log_softmax(logits, dim=-1)
        if processors:
            history = cast(torch.LongTensor, all_ids[:, :cur])
            processed = processors(history, logits.unsqueeze(0).clone())[0]
            processed_logprobs = torch.log_softmax(processed, dim=-1)
        else:
            processed, processed_logprobs = logits, raw_logprobs
        if greedy:
            token = int(torch.argmax(processed))
        else:
            probs = torch.exp(processed_logprobs)
            token = int(torch.multinomial(probs, 1, generator=generator))

        all_ids[0, cur] = token
        cur += 1
        is_eos = token == eos
        yield TokenStep(
            index=index,
            token_id=token,
            text="" if is_eos else decoder.push(token),
            logprob=float(raw_logprobs[token]),
            processed_logprob=float(processed_logprobs[token]),
            rank=rank_of(logits, token),
            top=engine._top(raw_logprobs, k),
            top_processed=engine._top(processed_logprobs, k) if processors else (),
            token=engine.token_texts.text(token),
        )
        if is_eos:
            stream.finish_reason = "eos"
            return
        if index + 1 == settings.max_new_tokens:
            break
        out = model(input_ids=all_ids[:, cur - 1 : cur], past_key_values=past, use_cache=True)
        past = out.past_key_values
        logits = out.logits[0, -1].float()
    stream.finish_reason = "length"
