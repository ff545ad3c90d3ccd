import os
import threading
import time
from pathlib import Path

import pytest

from assistant.errors import DataError, IndexStoreError
from assistant.rag import Indexer, IndexStore, ProgressEvent, ensure_index
from assistant.rag.store_writer import IndexWriter
from tests.rag_support import rag_settings, tiny_embedder, write_sample_folder


def _indexer(index: Path, **overrides: object) -> Indexer:
    return Indexer(rag_settings(index, **overrides), embedder=tiny_embedder())


def test_add_then_noop_then_incremental_changes(tmp_path: Path) -> None:
    folder = write_sample_folder(tmp_path / "src")
    index = tmp_path / "index"
    events: list[ProgressEvent] = []
    indexer = Indexer(rag_settings(index), embedder=tiny_embedder(), progress=events.append)
    first = indexer.add([folder])
    assert len(first.added) == 5 and not first.skipped and first.chunks_added >= 5
    assert events[0].phase == "scan" and events[-1].phase == "done"
    assert events[-1].files_total == 5

    again = indexer.add([folder])
    assert (again.added, again.updated, again.removed, again.unchanged) == ([], [], [], 5)
    assert again.commits == 0

    (folder / "cities.txt").write_text("Gdańsk is a port city.\n", encoding="utf-8")
    (folder / "chinese.txt").unlink()
    (folder / "new.md").write_text("# New\nFresh notes.\n", encoding="utf-8")
    os.utime(folder / "decoding.md", ns=(1, 1))  # touched, same content
    changed = indexer.add([folder])
    assert changed.updated == [str(folder / "cities.txt")]
    assert changed.removed == [str(folder / "chinese.txt")]
    assert changed.added == [str(folder / "new.md")]
    assert changed.unchanged == 3

    store = IndexStore.open(index)
    paths = {d.path for d in store.documents()}
    assert str(folder / "chinese.txt") not in paths and str(folder / "new.md") in paths
    texts = [r.text for r in store.chunks(store.chunk_ids()).values()]
    assert any("Gdańsk" in t for t in texts) and not any("Warsaw" in t for t in texts)
    assert store.stats()["documents"] == 5


def test_noop_does_not_load_the_model(tmp_path: Path) -> None:
    folder = write_sample_folder(tmp_path / "src")
    _indexer(tmp_path / "index").add([folder])
    fresh = Indexer(rag_settings(tmp_path / "index"))  # no embedder given
    assert fresh.add([folder]).unchanged == 5
    assert fresh._embedder is None


def test_bad_files_are_reported_not_fatal(tmp_path: Path) -> None:
    folder = tmp_path / "messy"
    folder.mkdir()
    (folder / "good.md").write_text("# Good\nReadable text.\n", encoding="utf-8")
    (folder / "polish.txt").write_bytes(
        ("Zażółć gęślą jaźń, pretrenowanie modeli. " * 20).encode("cp1250")
    )
    (folder / "russian.txt").write_bytes(
        ("Генерация текста языковой моделью. " * 20).encode("koi8-r")
    )
    (folder / "empty.md").write_bytes(b"")
    (folder / "blob.txt").write_bytes(os.urandom(4096) + b"\x00")
    (folder / "huge.txt").write_text("word " * 300_000, encoding="utf-8")  # 1.5 MB
    (folder / "image.png").write_bytes(b"\x89PNG\r\n")
    (folder / "loop").symlink_to(folder)
    (folder / "dangling.md").symlink_to(folder / "nowhere.md")
    (folder / ".hidden.md").write_text("hidden", encoding="utf-8")
    report = _indexer(tmp_path / "index", max_file_mb=1).add([folder])
    reasons = {Path(p).name: r for p, r in report.skipped}
    assert "binary" in reasons["blob.txt"]
    assert "too large" in reasons["huge.txt"]
    assert reasons["image.png"] == "unsupported file type"
    assert reasons["loop"] == "symlink loop"
    assert reasons["dangling.md"] == "broken symlink"
    assert reasons["empty.md"] == "no text"
    assert ".hidden.md" not in reasons
    assert sorted(Path(p).name for p in report.added) == [
        "empty.md",
        "good.md",
        "polish.txt",
        "russian.txt",
    ]
    store = IndexStore.open(tmp_path / "index")
    texts = " ".join(r.text for r in store.chunks(store.chunk_ids()).values())
    assert "Zażółć" in texts and "Генерация" in texts


def test_file_turning_binary_loses_its_old_chunks(tmp_path: Path) -> None:
    folder = write_sample_folder(tmp_path / "src")
    indexer = _indexer(tmp_path / "index")
    indexer.add([folder])
    (folder / "cities.txt").write_bytes(b"\x00\x01binary now")
    report = indexer.add([folder])
    assert report.removed == [str(folder / "cities.txt")]
    assert str(folder / "cities.txt") not in {
        d.path for d in IndexStore.open(tmp_path / "index").documents()
    }


def test_missing_path_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file or folder"):
        _indexer(tmp_path / "index").add([tmp_path / "nope"])


def test_remove_and_rebuild(tmp_path: Path) -> None:
    folder = write_sample_folder(tmp_path / "src")
    single = tmp_path / "single.md"
    single.write_text("# Single\nOne file added on its own.\n", encoding="utf-8")
    indexer = _indexer(tmp_path / "index")
    indexer.add([folder, single])
    removed = indexer.remove([folder / "notes-not-there", single])
    assert removed.removed == [str(single)]
    store = IndexStore.open(tmp_path / "index")
    assert str(single) not in store.roots() and len(store.documents()) == 5
    rebuilt = indexer.rebuild()
    assert len(rebuilt.added) == 5 and rebuilt.chunks_total == store.count
    assert IndexStore.open(tmp_path / "index").generation > store.generation


def test_model_change_requires_rebuild(tmp_path: Path) -> None:
    folder = write_sample_folder(tmp_path / "src")
    _indexer(tmp_path / "index").add([folder])
    other = Indexer(
        rag_settings(tmp_path / "index", embed_model="some/other-model"), embedder=tiny_embedder()
    )
    with pytest.raises(
        IndexStoreError, match="the configured embedder is some/other-model: run `assistant index"
    ):
        other.add([folder])


def test_concurrent_writer_fails_with_a_message(tmp_path: Path) -> None:
    folder = write_sample_folder(tmp_path / "src")
    indexer = Indexer(rag_settings(tmp_path / "index"), embedder=tiny_embedder(), lock_timeout=0.2)
    with (
        IndexWriter(tmp_path / "index", model="x", dim=4),
        pytest.raises(IndexStoreError, match="being written by another process"),
    ):
        indexer.add([folder])
    assert len(indexer.add([folder]).added) == 5


def test_watch_follows_the_folder(tmp_path: Path) -> None:
    folder = write_sample_folder(tmp_path / "src")
    indexer = _indexer(tmp_path / "index")
    stop = threading.Event()
    updates = []
    thread = threading.Thread(
        target=indexer.watch,
        args=([folder],),
        kwargs={"stop": stop, "interval": 0.05, "on_report": updates.append},
    )
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not updates and time.monotonic() < deadline:
            time.sleep(0.02)
        (folder / "late.md").write_text(
            "# Late\nA file written while watching.\n", encoding="utf-8"
        )
        while len(updates) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert updates[0].added and updates[1].added == [str(folder / "late.md")]


def test_ensure_index_builds_once(tmp_path: Path) -> None:
    folder = write_sample_folder(tmp_path / "src")
    settings = rag_settings(tmp_path / "index", documents=[folder])
    assert ensure_index(settings) is True
    assert ensure_index(settings) is False
    assert ensure_index(rag_settings(tmp_path / "other", documents=[tmp_path / "gone"])) is False
