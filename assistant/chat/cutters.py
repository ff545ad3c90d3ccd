"""Cutting text on token boundaries: the first or last ``n`` tokens of a text.

The prompt builder cuts passages, tool results and over-long questions with these. BPE is
not prefix-stable (a cut text can re-encode to more tokens), so every cut is checked by
re-counting; the builder measures the rendered prompt again anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

CountTokens = Callable[[str], int]


class TokenCutter(Protocol):
    """Cuts text on token boundaries: the first / last ``n`` tokens of ``text``."""

    def head(self, text: str, n: int) -> str: ...

    def tail(self, text: str, n: int) -> str: ...


class TokenizerCutter:
    """Exact token-boundary cuts through a Hugging Face tokenizer (encode → slice → decode)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self._last: tuple[str, list[int]] = ("", [])  # a binary search cuts one text often

    def _ids(self, text: str) -> list[int]:
        if self._last[0] != text or not text:
            self._last = (text, list(self.tokenizer.encode(text, add_special_tokens=False)))
        return self._last[1]

    def _decode(self, ids: list[int]) -> str:
        # A cut inside a multi-byte character decodes to U+FFFD at the edge: drop it.
        return str(self.tokenizer.decode(ids)).strip("\ufffd")

    def _count(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def head(self, text: str, n: int) -> str:
        ids = self._ids(text)
        # BPE is not prefix-stable: a cut text can re-encode to more tokens; step back.
        while n > 0:
            piece = self._decode(ids[:n])
            if self._count(piece) <= n:
                return piece
            n -= 1
        return ""

    def tail(self, text: str, n: int) -> str:
        ids = self._ids(text)
        while n > 0:
            piece = self._decode(ids[-n:])
            if self._count(piece) <= n:
                return piece
            n -= 1
        return ""


class CountingCutter:
    """Cuts with only a token counter: the longest prefix/suffix (binary search over
    characters) that holds at most ``n`` tokens. Used when no tokenizer is at hand."""

    def __init__(self, count_tokens: CountTokens) -> None:
        self.count = count_tokens

    def head(self, text: str, n: int) -> str:
        return text[: self._longest(len(text), n, lambda size: text[:size])]

    def tail(self, text: str, n: int) -> str:
        size = self._longest(len(text), n, lambda size: text[len(text) - size :])
        return text[len(text) - size :] if size else ""

    def _longest(self, length: int, n: int, piece: Callable[[int], str]) -> int:
        low, high = 0, length
        while low < high:
            mid = (low + high + 1) // 2
            if self.count(piece(mid)) <= n:
                low = mid
            else:
                high = mid - 1
        return low
