"""HnswFollower: extend the last generation's graph, or rebuild it from the exact index."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from assistant.rag.atomic_files import publish_faiss
from assistant.rag.hnsw import HnswFollower

DIM = 8


def _vectors(n: int, seed: int) -> np.ndarray:
    vecs = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def _flat(n: int) -> faiss.IndexIDMap2:
    flat = faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))
    flat.add_with_ids(_vectors(n, 0), np.arange(n, dtype=np.int64))
    return flat


def test_a_fresh_follower_builds_from_the_exact_index(tmp_path: Path) -> None:
    follower = HnswFollower(DIM)
    index = follower.build(_flat(10), previous=None)
    assert index.ntotal == 10 and not follower.stale
    (score,), (found,) = index.search(_vectors(10, 0)[3:4], 1)
    assert int(found[0]) == 3 and score[0] > 0.999


def test_added_vectors_extend_the_previous_graph_and_a_removal_rebuilds(tmp_path: Path) -> None:
    flat, follower = _flat(10), HnswFollower(DIM)
    publish_faiss(follower.build(flat, previous=None), tmp_path, "hnsw.faiss")
    previous = tmp_path / "hnsw.faiss"
    assert not (tmp_path / "hnsw.faiss.tmp").exists()

    # Vectors reported as added (and not in `flat`) show the graph was extended, not rebuilt.
    follower.added(_vectors(5, 1), np.arange(10, 15, dtype=np.int64))
    assert follower.build(flat, previous).ntotal == 15

    follower.removed()
    assert follower.stale
    assert follower.build(flat, previous).ntotal == 10  # rebuilt from the exact index

    follower.added(_vectors(5, 1), np.arange(10, 15, dtype=np.int64))
    follower.skipped()  # a generation without HNSW: the next build cannot extend
    assert follower.stale and follower.build(flat, previous).ntotal == 10
