import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import IndexStoreError
from assistant.rag.chunking import Chunk
from assistant.rag.store import DocumentRow, IndexStore
from assistant.rag.store_writer import IndexWriter

DIM = 8


def _vectors(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _put(writer: IndexWriter, name: str, n: int, seed: int = 0) -> np.ndarray:
    doc = DocumentRow(f"/docs/{name}", "/docs", name, 10, 1, "text", 0)
    chunks = [Chunk(f"{name} chunk {i} words", i + 1, i + 1, None, "") for i in range(n)]
    vecs = _vectors(n, seed)
    writer.put_document(doc, chunks, vecs)
    return vecs


def test_commit_publishes_a_consistent_generation(tmp_path: Path) -> None:
    with IndexWriter(tmp_path, model="m", dim=DIM) as w:
        vecs = _put(w, "a.txt", 3)
        assert not IndexStore.exists(tmp_path)  # nothing visible before the commit
        assert w.commit()
        assert not w.commit()  # nothing new
    store = IndexStore.open(tmp_path)
    assert (store.count, store.model, store.dim, store.kind) == (3, "m", DIM, "flat")
    hits = store.search_dense(vecs[1], 1)
    assert store.chunks([hits[0][0]])[hits[0][0]].text == "a.txt chunk 1 words"
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [cid for cid, _ in store.search_lexical("chunk 2", 1)] == [hits[0][0] + 1]
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "flat-000001.faiss",
        "lex-000001.npz",
        "lock",
        "manifest.json",
        "meta-000001.sqlite3",
    ]


def test_replacing_and_removing_documents(tmp_path: Path) -> None:
    with IndexWriter(tmp_path, model="m", dim=DIM) as w:
        _put(w, "a.txt", 3)
        _put(w, "b.txt", 2, seed=1)
        w.commit()
        _put(w, "a.txt", 1, seed=2)  # replaced: 3 chunks → 1
        assert w.remove_document("/docs/b.txt") == 2
        w.commit()
    store = IndexStore.open(tmp_path)
    assert store.count == 1
    assert [d.path for d in store.documents()] == ["/docs/a.txt"]
    assert sorted(p.name for p in tmp_path.iterdir())[0] == "flat-000002.faiss"  # old gen gone


def test_an_uncommitted_writer_leaves_the_previous_generation(tmp_path: Path) -> None:
    with IndexWriter(tmp_path, model="m", dim=DIM) as w:
        _put(w, "a.txt", 2)
        w.commit()
        _put(w, "b.txt", 5)  # never committed
    store = IndexStore.open(tmp_path)
    assert store.count == 2
    assert not any(p.name.startswith("work-") for p in tmp_path.iterdir())


def test_mismatched_vectors_and_rows_are_refused(tmp_path: Path) -> None:
    with IndexWriter(tmp_path, model="m", dim=DIM) as w:
        _put(w, "a.txt", 2)
        w.commit()
        _put(w, "b.txt", 1)
        w.commit()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    # Simulate a torn state: the rows of generation 2 with the vectors of generation 1.
    with IndexWriter(tmp_path / "other", model="m", dim=DIM) as w:
        _put(w, "a.txt", 2)
        w.commit()
    (tmp_path / manifest["flat"]).write_bytes(
        (tmp_path / "other" / "flat-000001.faiss").read_bytes()
    )
    with pytest.raises(IndexStoreError, match=r"inconsistent .*index rebuild"):
        IndexStore.open(tmp_path)
    # The same with the lexical postings of another generation.
    (tmp_path / manifest["flat"]).unlink()
    with IndexWriter(tmp_path / "third", model="m", dim=DIM) as w:
        _put(w, "a.txt", 2)
        _put(w, "b.txt", 1)
        w.commit()
    (tmp_path / manifest["flat"]).write_bytes(
        (tmp_path / "third" / "flat-000001.faiss").read_bytes()
    )
    IndexStore.open(tmp_path)  # rows and vectors agree again
    lex = tmp_path / manifest["lexical"]
    lex.write_bytes((tmp_path / "other" / "lex-000001.npz").read_bytes())
    with pytest.raises(IndexStoreError, match="inconsistent"):
        IndexStore.open(tmp_path)
    lex.write_bytes(b"garbage")
    with pytest.raises(IndexStoreError, match="damaged"):
        IndexStore.open(tmp_path)


def test_missing_and_damaged_indexes_have_clear_messages(tmp_path: Path) -> None:
    with pytest.raises(IndexStoreError, match=r"no index at .*index add"):
        IndexStore.open(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(IndexStoreError, match="unreadable index manifest"):
        IndexStore.open(tmp_path)


def test_model_mismatch_asks_for_a_rebuild(tmp_path: Path) -> None:
    with IndexWriter(tmp_path, model="m", dim=DIM) as w:
        _put(w, "a.txt", 1)
        w.commit()
    with pytest.raises(
        IndexStoreError,
        match=r"built with m; the configured embedder is other: run `assistant index rebuild`",
    ):
        IndexWriter(tmp_path, model="other", dim=DIM).__enter__()
    with IndexWriter(tmp_path, model="other", dim=4, fresh=True) as w:
        assert w.previous_roots() == [] and w.documents() == {}
        w.commit()
    assert IndexStore.open(tmp_path).model == "other"


def test_second_writer_waits_then_fails(tmp_path: Path) -> None:
    with IndexWriter(tmp_path, model="m", dim=DIM):
        start = time.monotonic()
        with pytest.raises(IndexStoreError, match="being written by another process"):
            IndexWriter(tmp_path, model="m", dim=DIM, lock_timeout=0.3).__enter__()
        assert time.monotonic() - start >= 0.3


def test_second_writer_gets_the_lock_when_released_in_time(tmp_path: Path) -> None:
    first = IndexWriter(tmp_path, model="m", dim=DIM).__enter__()
    releaser = threading.Timer(0.2, first.__exit__, args=(None, None, None))
    releaser.start()
    with IndexWriter(tmp_path, model="m", dim=DIM, lock_timeout=10) as second:
        _put(second, "a.txt", 1)
        second.commit()
    releaser.join()
    assert IndexStore.open(tmp_path).count == 1


def test_readers_need_no_lock(tmp_path: Path) -> None:
    with IndexWriter(tmp_path, model="m", dim=DIM) as w:
        _put(w, "a.txt", 2)
        w.commit()
        reader = IndexStore.open(tmp_path)  # while the writer holds the lock
        _put(w, "b.txt", 2)
        w.commit()
        assert reader.count == 2 and reader.is_stale()
        assert IndexStore.open(tmp_path).count == 4


def test_hnsw_above_threshold_finds_the_same_neighbours(tmp_path: Path) -> None:
    with IndexWriter(tmp_path, model="m", dim=DIM, hnsw_threshold=20) as w:
        vecs = _put(w, "a.txt", 30)
        w.commit()
        vecs_b = _put(w, "b.txt", 5, seed=3)  # incremental add to the graph
        w.commit()
        _put(w, "c.txt", 5, seed=4)
        w.remove_document("/docs/c.txt")  # removal: graph rebuilt
        w.commit()
    store = IndexStore.open(tmp_path)
    assert store.kind == "hnsw" and store.count == 35
    for v in list(vecs[:5]) + list(vecs_b):
        (cid, score), *_ = store.search_dense(v, 3)
        assert score == pytest.approx(1.0, abs=1e-5)
        assert store.dense_scores(v, [cid])[cid] == pytest.approx(1.0, abs=1e-5)
