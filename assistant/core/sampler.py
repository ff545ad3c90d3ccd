"""The token-by-token decode loop for greedy and sampling (KV cache, one row per step)."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, NamedTuple, cast

import torch

from assistant.core.request import DecodeRequest
from assistant.core.textstream import IncrementalDecoder
from assistant.core.tokens import TokenTexts, top_pairs
from assistant.core.types import FinishReason, TokenProb, TokenStep

if TYPE_CHECKING:
    from assistant.core.grounding import PassageCopyProcessor


def rank_of(logits: torch.Tensor, token_id: int) -> int:
    """1-based rank of ``token_id`` under ``logits`` (ties share the better rank)."""
    return int((logits > logits[token_id]).sum()) + 1


class _Choice(NamedTuple):
    """The step's token and what a TokenStep reports about it."""

    token: int
    rank: int  # under the raw model
    logprob: float  # raw model
    processed_logprob: float
    top: tuple[TokenProb, ...]
    top_processed: tuple[TokenProb, ...]


def _choice(
    raw_logprobs: torch.Tensor,
    logits: torch.Tensor,
    history: torch.LongTensor,
    request: DecodeRequest,
    generator: torch.Generator | None,
) -> _Choice:
    """Greedy or sampled over the processed distribution, materialised over the vocabulary."""
    processors, texts, k = request.processors, request.token_texts, request.settings.top_logprobs
    greedy = request.settings.strategy == "greedy"
    if processors:
        processed = processors(history, logits.unsqueeze(0).clone())[0]
        # The copy processor (always last) returns normalised log-probabilities.
        normalised = request.copy is not None
        processed_logprobs = processed if normalised else torch.log_softmax(processed, -1)
    else:
        processed, processed_logprobs = logits, raw_logprobs
    if greedy:
        token = int(torch.argmax(processed))
    else:
        probs = torch.exp(processed_logprobs)
        token = int(torch.multinomial(probs, 1, generator=generator))
    # Greedy without processors picks the raw argmax: nothing ranks above it, and the
    # O(vocabulary) comparison would be wasted.
    rank = 1 if greedy and not processors else rank_of(logits, token)
    return _Choice(
        token,
        rank,
        float(raw_logprobs[token]),
        float(processed_logprobs[token]),
        texts.top(raw_logprobs, k),
        texts.top(processed_logprobs, k) if processors else (),
    )


def _greedy_copy_choice(
    raw_logprobs: torch.Tensor,
    logits: torch.Tensor,
    history: torch.LongTensor,
    copy: PassageCopyProcessor,
    texts: TokenTexts,
    k: int,
) -> _Choice:
    """Greedy over the copy mixture without materialising it: its top k comes from the raw
    top k and the voted tokens (SparseMix.top), the raw rank from the raw top k when the
    token is in it. Same tokens and probabilities as ``_choice`` with the copy as the only
    processor (tests/test_sparse_copy.py), ~30 µs a step less."""
    raw_top = top_pairs(raw_logprobs, max(k, 1))
    mix = copy.mix_sparse(history, raw_logprobs, raw_top[0][0])
    ranked = mix.top(raw_top, max(k, 1))
    token = ranked[0][0]
    raw_value = next((value for t, value in raw_top if t == token), None)
    if raw_value is None:
        raw_value, rank = float(raw_logprobs[token]), rank_of(logits, token)
    else:  # every token ranked above it is in the top k too
        rank = 1 + sum(1 for _, value in raw_top if value > raw_value)
    return _Choice(
        token,
        rank,
        raw_value,
        ranked[0][1],
        texts.probs(raw_top[:k]),
        texts.probs(ranked[:k]),
    )


def use_threads(count: int) -> None:
    """Set torch's thread count for the forward passes that follow (strategies call it per
    phase). OpenMP keeps the count per calling thread, and a stream may be iterated from
    another thread than the one that built it: set it where the forward runs."""
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)


@torch.inference_mode()
def sample_steps(request: DecodeRequest) -> Generator[TokenStep, None, FinishReason]:
    """Greedy or sampled steps, one forward pass each; returns the finish reason.

    The plan's cache may already hold a prefix of the prompt (a kept conversation prefix):
    only the rest is fed. When the decode ends (finished, cancelled or abandoned) the cache
    goes back to the plan's owner with exactly the ids it holds."""
    settings, plan = request.settings, request.plan
    processors, copy = request.processors, request.copy
    # Greedy with the copy as the only processor (the chat's default with passages) ranks
    # the mixture sparsely; everything else materialises the processed distribution.
    sparse_copy = settings.strategy == "greedy" and copy is not None and len(processors) == 1
    generator = None
    if settings.seed is not None:
        generator = torch.Generator().manual_seed(settings.seed)
    k = settings.top_logprobs
    eos = request.eos_token_id
    texts = request.token_texts
    decoder = IncrementalDecoder(request.decode)

    prompt_len = len(request.prompt_ids)
    # Preallocated history of ids: processors (repetition penalty, n-grams) see a view of it.
    all_ids = torch.empty((1, prompt_len + settings.max_new_tokens), dtype=torch.long)
    all_ids[0, :prompt_len] = torch.tensor(request.prompt_ids)
    cur = prompt_len
    cache = plan.cache
    previous_threads = torch.get_num_threads()
    consistent = False  # the cache is given back only while it matches the ids fed
    try:
        use_threads(plan.threads.prefill)
        logits = plan.prefill.forward(all_ids[:, cache.length : cur], cache)
        consistent = True
        for index in range(settings.max_new_tokens):
            if request.stop_event.is_set():
                return "cancelled"
            raw_logprobs = torch.log_softmax(logits, dim=-1)
            history = cast(torch.LongTensor, all_ids[:, :cur])
            if sparse_copy:
                assert copy is not None
                choice = _greedy_copy_choice(raw_logprobs, logits, history, copy, texts, k)
            else:
                choice = _choice(raw_logprobs, logits, history, request, generator)
            if copy is not None and copy.stop_here and settings.grounded_stop:
                return "sentence_end"
            token = choice.token
            all_ids[0, cur] = token
            cur += 1
            is_eos = token == eos
            yield TokenStep(
                index=index,
                token_id=token,
                text="" if is_eos else decoder.push(token),
                logprob=choice.logprob,
                processed_logprob=choice.processed_logprob,
                rank=choice.rank,
                top=choice.top,
                top_processed=choice.top_processed,
                token=texts.text(token),
                provenance=copy.provenance(token) if copy is not None else None,
                probabilities=plan.probabilities,
            )
            if is_eos:
                return "eos"
            if index + 1 == settings.max_new_tokens:
                break
            use_threads(plan.threads.decode)
            consistent = False
            logits = plan.decode.forward(all_ids[:, cur - 1 : cur], cache)
            consistent = True
        return "length"
    finally:
        use_threads(previous_threads)
        if consistent and plan.release is not None:
            plan.release(all_ids[0, : cache.length].tolist(), cache)
