"""Probability of a given continuation, token by token (the token panel's "type a token").

UI-free helper over a loaded Engine: exact token ids for the prefix (no re-tokenisation of
generated text), the typed text tokenised on its own as the model would have emitted it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from assistant.errors import UsageError

if TYPE_CHECKING:
    from assistant.core.engine import Engine


@dataclass(frozen=True)
class ContinuationToken:
    token_id: int
    text: str
    logprob: float
    rank: int  # 1-based under the raw distribution


@torch.inference_mode()
def continuation_logprobs(
    engine: Engine, prefix_ids: Sequence[int], text: str
) -> list[ContinuationToken]:
    """Raw log-probability and rank of each token of ``text`` following ``prefix_ids``."""
    eng = engine
    ids = eng.encode(text)
    if not ids:
        raise UsageError("empty text: type at least one character")
    context = int(eng.context_length)
    if len(ids) >= context:
        raise UsageError(f"text too long: {len(ids)} tokens (context is {context})")
    full = (list(prefix_ids) + ids)[-context:]
    if len(full) == len(ids):  # no prefix left: condition on BOS so the first token is scored
        bos = eng.bos_token_id
        full = ([bos] if bos is not None else []) + ids
    with eng.lock:
        logits = eng.model(input_ids=torch.tensor([full]), use_cache=False).logits[0]
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    first = len(full) - len(ids)
    if first == 0:
        raise UsageError("cannot score the first token without a prefix")
    out: list[ContinuationToken] = []
    for offset, token_id in enumerate(ids):
        row = logprobs[first + offset - 1]
        value = float(row[token_id])
        rank = int((row > value).sum().item()) + 1
        text_of = eng.token_texts.text(token_id)
        out.append(ContinuationToken(token_id, text_of, value, rank))
    return out
