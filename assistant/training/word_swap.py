"""Consistent word swaps that make a QA example's answer impossible to guess from memory.

A small model trained for many epochs on a hundred kilobytes of notes memorises them; it can
then predict an answer from memory instead of reading the passage, and the skill the
assistant needs (find the sentence the question is about, copy it) gets little gradient. In a
swapped example some content words and numbers are replaced by other words of the corpus and
other numbers, the same way in the passages, the question and the answer: copying from the
passage is then the only way to predict the answer.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9'-]*|\d+(?:\.\d+)?")


class WordSwapper:
    """Draws swap tables from ``vocabulary``; ``protected`` words (lowercase) never change."""

    def __init__(self, vocabulary: Iterable[str], protected: Iterable[str]) -> None:
        self.protected = frozenset(w.lower() for w in protected)
        self.vocabulary = sorted({w.lower() for w in vocabulary} - self.protected)

    def table(self, texts: Sequence[str], share: float, rng: random.Random) -> dict[str, str]:
        """A swap for about ``share`` of the distinct swappable words and numbers of ``texts``."""
        seen = dict.fromkeys(
            t.lower() for text in texts for t in _TOKEN.findall(text) if self._swappable(t)
        )
        table: dict[str, str] = {}
        for word in seen:
            if rng.random() >= share:
                continue
            if word[0].isdigit():
                table[word] = _other_number(word, rng)
            elif self.vocabulary:
                table[word] = rng.choice(self.vocabulary)
        return table

    def _swappable(self, token: str) -> bool:
        lower = token.lower()
        return token[0].isdigit() or (len(lower) > 2 and lower not in self.protected)


def apply_swaps(text: str, table: dict[str, str]) -> str:
    """``text`` with every swapped word replaced, keeping its capitalisation."""
    if not table:
        return text

    def replace(match: re.Match[str]) -> str:
        token = match.group()
        new = table.get(token.lower())
        if new is None:
            return token
        if len(token) > 1 and token.isupper():
            return new.upper()
        if token[0].isupper():
            return new[0].upper() + new[1:]
        return new

    return _TOKEN.sub(replace, text)


def _other_number(number: str, rng: random.Random) -> str:
    # Same shape (digits before and after the point), so "0.95" stays a probability-like
    # value and "1024" a four-digit figure.
    def digits(n: int, leading: bool) -> str:
        first = str(rng.randint(1, 9)) if leading and n > 1 else str(rng.randint(0, 9))
        return first + "".join(str(rng.randint(0, 9)) for _ in range(n - 1))

    whole, _, fraction = number.partition(".")
    new = digits(len(whole), leading=True)
    return f"{new}.{digits(len(fraction), leading=False)}" if fraction else new
