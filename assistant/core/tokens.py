"""Readable text for single tokens, including byte-level pieces of multi-byte characters."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from assistant.core.types import TokenProb


@lru_cache(maxsize=1)
def byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's byte→printable-character table (byte-level BPE token spelling):
    printable Latin-1 bytes map to themselves, the other bytes to code points from 256 up."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    table = {chr(b): b for b in printable}
    extra = 0
    for b in range(256):
        if b not in printable:
            table[chr(256 + extra)] = b
            extra += 1
    return table


def top_pairs(logprobs: Any, k: int) -> list[tuple[int, float]]:
    """The ``k`` largest entries of a 1-d tensor as (index, value), largest first."""
    values, indices = logprobs.topk(k)
    return list(zip(indices.tolist(), values.tolist(), strict=True))


class TokenTexts:
    """``text(id)``: the token as a user should see it. A token holding part of a UTF-8
    character decodes to U+FFFD alone; we show its bytes instead (e.g. ``\\xe5\\x8f``)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self._cache: dict[int, str] = {}

    def text(self, token_id: int) -> str:
        cached = self._cache.get(token_id)
        if cached is None:
            cached = self._cache[token_id] = self._compute(token_id)
        return cached

    def top(self, logprobs: Any, k: int) -> tuple[TokenProb, ...]:
        """The ``k`` most likely tokens of a 1-d log-probability tensor (impossible ones
        left out)."""
        if k <= 0:
            return ()
        return self.probs(top_pairs(logprobs, k))

    def probs(self, pairs: list[tuple[int, float]]) -> tuple[TokenProb, ...]:
        """TokenProbs of (token id, log p) pairs, impossible ones left out."""
        return tuple(
            TokenProb(token, self.text(token), math.exp(value), value)
            for token, value in pairs
            if value > -math.inf
        )

    def _compute(self, token_id: int) -> str:
        text = str(self.tokenizer.decode([token_id]))
        if "\ufffd" not in text:
            return text
        piece = self.tokenizer.convert_ids_to_tokens(token_id)
        decoder = byte_decoder()
        if isinstance(piece, str) and all(ch in decoder for ch in piece):
            raw = bytes(decoder[ch] for ch in piece)
            return raw.decode("utf-8", errors="backslashreplace")
        return text
