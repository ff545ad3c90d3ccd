"""How relevant each sentence of the passages is to the question: the weights grounding uses.

A ``Relevance`` maps (question, sentences) to one non-negative score per sentence. The one
here needs nothing loaded: word overlap weighted by inverse sentence frequency, where a word
is a lower-cased run of letters or digits cut to its first ``STEM`` characters (Polish and
Russian inflect the ending: "modelu"/"modele", "токенов"/"токены" share their start), and runs
of Han or Kana count as overlapping character bigrams (no spaces between words there). The
chat layer may pass another Relevance (BM25 or the retriever's embedder); measured in
``benchmarks/answer_rate.py``.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence

Relevance = Callable[[str, Sequence[str]], list[float]]

STEM = 5
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_WORD = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_CJK_RUN = re.compile(rf"[{_CJK}]")
# Question words and glue that say nothing about which sentence answers (English only: the
# inverse frequency already discounts other languages' glue words that recur in passages).
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "do",
        "does",
        "did",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "as",
        "into",
        "than",
        "then",
        "there",
        "their",
        "they",
        "them",
        "we",
        "you",
        "your",
        "i",
        "can",
        "could",
        "should",
        "would",
        "will",
        "may",
        "might",
    ]
)


def terms(text: str) -> list[str]:
    """The matching terms of ``text``: stemmed words and CJK bigrams, stopwords dropped."""
    out: list[str] = []
    for run in _WORD.findall(unicodedata.normalize("NFKC", text).casefold()):
        if _CJK_RUN.match(run):
            out.extend([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
        elif run not in _STOPWORDS:
            out.append(run[:STEM])
    return out


PAIR_WEIGHT = 1.0  # per adjacent pair of question terms found adjacent (measured: +1/84)


def _pairs(words: list[str]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(words))


def word_overlap(question: str, sentences: Sequence[str]) -> list[float]:
    """Sum of the inverse sentence frequencies of the question's terms each sentence holds,
    plus PAIR_WEIGHT for each pair of adjacent question terms it holds adjacent too
    ("context window" says more than "context" and "window" apart)."""
    question_terms = terms(question)
    wanted, wanted_pairs = set(question_terms), _pairs(question_terms)
    split = [terms(s) for s in sentences]
    sentence_terms = [set(t) & wanted for t in split]
    frequency: Counter[str] = Counter(t for found in sentence_terms for t in found)
    n = len(sentences)
    return [
        sum(math.log(1.0 + n / frequency[t]) for t in found)
        + PAIR_WEIGHT * len(_pairs(words) & wanted_pairs)
        for found, words in zip(sentence_terms, split, strict=True)
    ]


__all__ = ["Relevance", "terms", "word_overlap"]
