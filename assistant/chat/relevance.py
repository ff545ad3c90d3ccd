"""Sentence relevance for grounding, built on what retrieval already has: BM25 over the
passages' sentences with retrieval's own lexical terms, or cosine similarity under the
retriever's embedder. Word overlap (no model) lives in ``core/relevance.py``. Which one the
chat uses was measured with ``benchmarks/answer_rate.py --relevance``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.core.relevance import Relevance, word_overlap
from assistant.rag.bm25 import Postings
from assistant.rag.lexical import lexical_tokens

DENSE_WEIGHT = 1.0  # hybrid: the embedding side's weight beside word overlap


def bm25(question: str, sentences: Sequence[str]) -> list[float]:
    """Okapi BM25 of each sentence for the question, the sentences being the collection
    (retrieval's own postings and terms)."""
    postings = Postings.empty().updated((), {i: lexical_tokens(s) for i, s in enumerate(sentences)})
    scores = [0.0] * len(sentences)
    for i, score in postings.search(lexical_tokens(question), len(sentences)):
        scores[i] = score
    return scores


def embedding_relevance(embedder: Any) -> Relevance:
    """Cosine similarity of each sentence to the question under ``embedder`` (an
    ``assistant.rag.Embedder``), floored at 0."""

    def score(question: str, sentences: Sequence[str]) -> list[float]:
        if not sentences:
            return []
        # Asymmetric models (e5) embed a question differently from the text that answers it.
        query = embedder.encode([question], kind="query")[0]
        return [max(0.0, float(v)) for v in embedder.encode(list(sentences)) @ query]

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
