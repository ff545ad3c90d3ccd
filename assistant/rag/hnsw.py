"""The approximate (HNSW) index, kept in step with the exact one from commit to commit.

HNSW cannot delete: after any removal it is rebuilt from the exact index; otherwise the last
generation's graph is extended with the vectors added since. The writer reports each change
and asks for the new index when a commit keeps one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np

from assistant.rag.store import read_faiss

HNSW_M = 32


class HnswFollower:
    def __init__(self, dim: int) -> None:
        self.dim = dim
        # True when the last generation's graph cannot be extended (none, or vectors removed).
        self.stale = True
        self._new_vectors: list[tuple[np.ndarray, np.ndarray]] = []

    def added(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        self._new_vectors.append((vectors, ids))

    def removed(self) -> None:
        self.stale = True

    def build(self, flat: faiss.IndexIDMap2, previous: Path | None) -> Any:
        """The index for the new generation: ``previous`` (the last one's file) extended, or
        a rebuild from ``flat``."""
        if not self.stale and previous is not None:
            index = read_faiss(previous)
            for vecs, ids in self._new_vectors:
                index.add_with_ids(vecs, ids)
        else:
            index = faiss.IndexIDMap2(
                faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            )
            if flat.ntotal:
                vectors = faiss.downcast_index(flat.index).reconstruct_n(0, flat.ntotal)
                index.add_with_ids(vectors, faiss.vector_to_array(flat.id_map))
        self._new_vectors.clear()
        self.stale = False
        return index

    def skipped(self) -> None:
        """The new generation has no HNSW index: the next one is built from scratch."""
        self._new_vectors.clear()
        self.stale = True
