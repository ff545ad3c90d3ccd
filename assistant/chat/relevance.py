"""Sentence relevance for grounding, built on what retrieval already has: BM25 over the
passages' sentences with retrieval's own lexical terms, or cosine similarity under the
retriever's embedder. Word overlap (no model) lives in ``core/relevance.py``. Which one the
chat uses was measured with ``benchmarks/answer_rate.py --relevance``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from assistant.core.relevance import Relevance, word_overlap
from assistant.rag.lexical import lexical_tokens

BM25_K1, BM25_B = 1.2, 0.75
DENSE_WEIGHT = 1.0  # hybrid: the embedding side's weight beside word overlap


def bm25(question: str, sentences: Sequence[str]) -> list[float]:
    """Okapi BM25 of each sentence for the question, over the sentences as the collection."""
    docs = [lexical_tokens(s) for s in sentences]
    if not docs:
        return []
    average = sum(len(d) for d in docs) / len(docs) or 1.0
    frequency: Counter[str] = Counter(t for d in docs for t in set(d))
    n = len(docs)
    wanted = set(lexical_tokens(question))
    scores = []
    for doc in docs:
        counts = Counter(doc)
        score = 0.0
        for term in wanted & counts.keys():
            idf = math.log(1.0 + (n - frequency[term] + 0.5) / (frequency[term] + 0.5))
            tf = counts[term]
            score += (
                idf
                * tf
                * (BM25_K1 + 1)
                / (tf + BM25_K1 * (1 - BM25_B + BM25_B * len(doc) / average))
            )
        scores.append(score)
    return scores


def embedding_relevance(embedder: Any) -> Relevance:
    """Cosine similarity of each sentence to the question under ``embedder`` (an
    ``assistant.rag.Embedder``), floored at 0."""

    def score(question: str, sentences: Sequence[str]) -> list[float]:
        if not sentences:
            return []
        vectors = embedder.encode([question, *sentences])
        return [max(0.0, float(v)) for v in vectors[1:] @ vectors[0]]

    return score


def hybrid_relevance(embedder: Any) -> Relevance:
    """Word overlap and embedding cosine, each scaled to its best sentence, summed (the
    embedding side weighted DENSE_WEIGHT)."""
    dense = embedding_relevance(embedder)

    def score(question: str, sentences: Sequence[str]) -> list[float]:
        parts = [word_overlap(question, sentences), dense(question, sentences)]
        scaled = [[v / (max(p) or 1.0) for v in p] for p in parts]
        return [a + DENSE_WEIGHT * b for a, b in zip(*scaled, strict=True)]

    return score


def relevance_named(name: str, embedder: Any = None) -> Relevance:
    """``overlap``, ``bm25`` or ``embedding`` (needs ``embedder``)."""
    if name == "overlap":
        return word_overlap
    if name == "bm25":
        return bm25
    if name == "embedding" and embedder is not None:
        return embedding_relevance(embedder)
    if name == "hybrid" and embedder is not None:
        return hybrid_relevance(embedder)
    raise ValueError(f"unknown relevance {name!r} (or no embedder for it)")
