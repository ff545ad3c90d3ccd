"""Sparse latent terms (rag/sparse_terms.py): the postings' dot product, storage in the index
(written with the chunks, removed with them, never on only some chunks), and the third list
in fused retrieval."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.rag.chunking import Chunk
from assistant.rag.sparse_terms import SparseTermsIndex, pack, unpack
from assistant.rag.store import DocumentRow, IndexStore
from assistant.rag.store_writer import IndexWriter

DIM = 4


def vec(pairs: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    return np.array(list(pairs), dtype=np.int32), np.array(list(pairs.values()), dtype=np.float32)


def row(chunk_id: int, pairs: dict[int, float]) -> tuple[int, bytes, bytes]:
    return (chunk_id, *pack(vec(pairs)))


def test_search_ranks_by_dot_product_and_skips_what_shares_nothing() -> None:
    index = SparseTermsIndex(
        [row(1, {5: 1.0, 9: 2.0}), row(2, {5: 3.0}), row(3, {700: 1.0}), row(4, {65535: 0.5})]
    )
    assert len(index) == 4
    found = index.search(vec({5: 1.0, 9: 1.0}), 10)
    assert found == [(2, pytest.approx(3.0)), (1, pytest.approx(3.0))] or found == [
        (1, pytest.approx(3.0)),
        (2, pytest.approx(3.0)),
    ]
    assert index.search(vec({9: 1.0}), 10) == [(1, pytest.approx(2.0))]
    assert index.search(vec({5: 1.0}), 1) == [(2, pytest.approx(3.0))]  # top n only
    assert index.search(vec({65535: 2.0}), 5) == [(4, pytest.approx(1.0))]
    assert index.search(vec({42: 1.0}), 5) == []  # no chunk has that feature
    assert SparseTermsIndex([]).search(vec({5: 1.0}), 5) == []


def test_pack_round_trips_and_refuses_ids_beyond_16_bits() -> None:
    ids, weights = unpack(*pack(vec({3: 0.25, 16383: 1.5})))
    assert ids.tolist() == [3, 16383] and weights.tolist() == [0.25, 1.5]
    with pytest.raises(ValueError, match="16 bits"):
        pack(vec({70000: 1.0}))
    # A torn row (ids and weights of different lengths) is left out, not misread.
    torn = (7, np.array([1, 2], dtype=np.uint16).tobytes(), np.array([1.0], np.float32).tobytes())
    assert SparseTermsIndex([torn, row(8, {1: 1.0})]).search(vec({1: 1.0}), 5) == [
        (8, pytest.approx(1.0))
    ]


def chunk(text: str) -> Chunk:
    return Chunk(text=text, start_line=1, end_line=1, page=None, heading="")


def doc(path: str) -> DocumentRow:
    return DocumentRow(path, "/r", "sha", 1, 1, "text", 0)


def put(w: IndexWriter, path: str, features: list[dict[int, float]] | None) -> None:
    chunks = [chunk(f"{path} chunk {i}") for i in range(len(features or [{}]))]
    vectors = np.eye(DIM, dtype=np.float32)[: len(chunks)]
    sparse = None if features is None else [vec(f) for f in features]
    w.put_document(doc(path), chunks, vectors, sparse)


def test_the_index_keeps_sparse_vectors_with_their_chunks(tmp_path: Path) -> None:
    with IndexWriter(tmp_path, model="m", dim=DIM, sparse_id="sae-test") as w:
        put(w, "/r/a.md", [{1: 1.0}, {2: 1.0}])
        put(w, "/r/b.md", [{1: 0.5}])
        w.commit()
    store = IndexStore.open(tmp_path)
    assert store.sparse_id == "sae-test" and store.stats()["sparse_terms"] == "sae-test (all)"
    hits = store.search_sparse(vec({1: 1.0}), 5)
    paths = store.chunks([cid for cid, _ in hits])
    assert [paths[cid].path for cid, _ in hits] == ["/r/a.md", "/r/b.md"]
    store.close()
    with IndexWriter(tmp_path, model="m", dim=DIM) as w:  # an existing index keeps its kind
        assert w.sparse_id == "sae-test"
        w.remove_document("/r/a.md")
        with pytest.raises(ValueError, match="sparse vectors"):
            put(w, "/r/c.md", None)  # its chunks would be missing from the sparse list
        w.commit()
    store = IndexStore.open(tmp_path)
    hits = store.search_sparse(vec({1: 1.0}), 5)
    assert [store.chunks([cid])[cid].path for cid, _ in hits] == ["/r/b.md"]
    assert store.search_sparse(vec({2: 1.0}), 5) == []  # removed with its document
    store.close()


def test_an_index_without_sparse_vectors_stays_without(tmp_path: Path) -> None:
    with IndexWriter(tmp_path, model="m", dim=DIM) as w:
        put(w, "/r/a.md", None)
        w.commit()
    # Asking for them later does not put them on only the new chunks: a rebuild adds them.
    with IndexWriter(tmp_path, model="m", dim=DIM, sparse_id="sae-test") as w:
        assert w.sparse_id is None
        put(w, "/r/b.md", None)
        w.commit()
    store = IndexStore.open(tmp_path)
    assert store.sparse_id is None and store.search_sparse(vec({1: 1.0}), 5) == []
    store.close()
    with IndexWriter(tmp_path, model="m", dim=DIM, fresh=True, sparse_id="sae-test") as w:
        assert w.sparse_id == "sae-test"
        put(w, "/r/a.md", [{1: 1.0}])
        w.commit()
    store = IndexStore.open(tmp_path)
    assert store.sparse_id == "sae-test" and len(store.search_sparse(vec({1: 1.0}), 5)) == 1
    store.close()


def test_a_cross_lingual_index_keeps_vectors_for_the_chunks_in_scope_only(tmp_path: Path) -> None:
    every = IndexWriter(tmp_path, model="m", dim=DIM, sparse_id="sae-test", sparse_scope="all")
    with every as w, pytest.raises(ValueError, match="sparse vectors"):  # scope all: every chunk
        w.put_document(doc("/r/a.md"), [chunk("a"), chunk("b")], np.eye(DIM)[:2], [None, None])
    with IndexWriter(
        tmp_path, model="m", dim=DIM, sparse_id="sae-test", sparse_scope="cross-lingual"
    ) as w:
        sparse = [vec({1: 1.0}), None]  # the second chunk is out of scope
        w.put_document(doc("/r/a.md"), [chunk("a"), chunk("b")], np.eye(DIM)[:2], sparse)
        with pytest.raises(ValueError, match="one per chunk"):  # still one entry per chunk
            w.put_document(doc("/r/b.md"), [chunk("c")], np.eye(DIM)[:1], [])
        w.commit()
    store = IndexStore.open(tmp_path)
    assert store.sparse_scope == "cross-lingual"
    assert store.stats()["sparse_terms"] == "sae-test (cross-lingual)"
    assert [cid for cid, _ in store.search_sparse(vec({1: 1.0}), 5)] == [0]
    store.close()
    # An existing index keeps its scope, whatever a later writer is given.
    with IndexWriter(tmp_path, model="m", dim=DIM, sparse_scope="all") as w:
        assert w.sparse_scope == "cross-lingual"
        w.put_document(doc("/r/c.md"), [chunk("c")], np.eye(DIM)[:1], [None])
        w.commit()
    store = IndexStore.open(tmp_path)
    assert store.sparse_scope == "cross-lingual" and len(store.chunk_ids()) == 3
    store.close()


def test_an_index_from_before_scopes_had_vectors_on_every_chunk(tmp_path: Path) -> None:
    with IndexWriter(tmp_path, model="m", dim=DIM, sparse_id="sae-test") as w:
        put(w, "/r/a.md", [{1: 1.0}])
        w.commit()
    manifest_path = tmp_path / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["sparse_scope"]  # written before scopes existed
    manifest_path.write_text(json.dumps(manifest))
    store = IndexStore.open(tmp_path)
    assert store.sparse_scope == "all"
    store.close()


def test_in_scope_cross_lingual_a_chunk_counts_the_better_of_bm25_and_the_sparse_rank() -> None:
    from assistant.rag.retriever import _best, _fuse, _rrf_terms

    dense = {1: 0.9, 2: 0.8}  # chunk 1 first
    lexical = {1: 5.0, 2: 4.0}  # chunk 1 first
    sparse = {2: 3.0}  # chunk 2 alone
    summed = _fuse(*(_rrf_terms(s) for s in (dense, lexical, sparse)))
    bridged = _fuse(_rrf_terms(dense), _best(_rrf_terms(lexical), _rrf_terms(sparse)))
    assert [cid for cid, _ in summed] == [2, 1]  # a third vote puts 2 first
    assert [cid for cid, _ in bridged] == [1, 2]  # two votes each: first twice wins
    assert dict(bridged)[2] == pytest.approx(1 / 12 + 1 / 11)
