"""The chat over an index another embedder built: the index stage says so, the chat opens and
answers without sources (saying so) while the index is rebuilt in the background, and cites
sources (relative to the documents folder) once the rebuild is done. A killed rebuild leaves
the old index. Tiny model, two tiny embedders, real stdio tool servers, every path under tmp."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assistant.chat.events import Notice, PassagesRetrieved
from assistant.chat.history import HistoryStore
from assistant.chat.index_rebuild import WAITING
from assistant.chat.loading import REBUILD_STAGE, LoadStage
from assistant.chat.session import ChatSession
from assistant.errors import AssistantError
from assistant.rag import Indexer, IndexStore
from assistant.rag.store import EmbedderMismatchError
from assistant.settings import Settings
from tests.chat_support import chat_settings, of_type, write_docs
from tests.rag_support import (
    REPO_ROOT,
    other_tiny_embedder_path,
    rag_settings,
    tiny_embedder,
    tiny_embedder_path,
)


def _index_with_first_embedder(tmp_path: Path, tiny_model_dir: Path) -> Settings:
    docs = write_docs(tmp_path / "docs")
    built = chat_settings(tmp_path / "home", tiny_model_dir, docs)
    Indexer(built, embedder=tiny_embedder()).add([docs])
    return chat_settings(
        tmp_path / "home", tiny_model_dir, docs, embed_model=str(other_tiny_embedder_path())
    )


def test_the_chat_rebuilds_an_index_of_another_embedder_in_the_background(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    settings = _index_with_first_embedder(tmp_path, tiny_model_dir)
    old_generation = IndexStore.open(settings.index_path).generation
    release = threading.Event()
    heard: list[LoadStage] = []

    def on_stage(stage: LoadStage) -> None:
        heard.append(stage)
        if stage.name == REBUILD_STAGE and stage.detail:  # the rebuild's own thread
            assert release.wait(60)  # hold it at its first progress report

    session = ChatSession(settings, history=HistoryStore(":memory:"))
    try:
        notices = session.load(on_stage=on_stage)
        index_end = [s for s in heard if s.name == "index"][-1]
        assert index_end.state == "failed"
        assert index_end.detail == f"built with {tiny_embedder_path()}: rebuilding"
        (said,) = [n for n in notices if "index was built with" in n.text]
        assert said.text == (
            f"the index was built with {tiny_embedder_path()}; the configured embedder is "
            f"{other_tiny_embedder_path()}: rebuilding it in the background (answers have no "
            "sources until it is done)"
        )
        # While it rebuilds: the chat answers, without sources, and says why.
        events = list(session.turn("What does beam search keep?", use_tools=False, dry_run=True))
        assert of_type(events, PassagesRetrieved)[0].passages == ()
        waiting = [n for n in of_type(events, Notice) if n.text.startswith(WAITING)]
        assert waiting and "files)" in waiting[0].text
        assert IndexStore.open(settings.index_path).generation == old_generation
        release.set()
        rebuild = session.parts.rebuild
        assert rebuild is not None and rebuild.wait(120)
        end = [s for s in heard if s.name == REBUILD_STAGE][-1]
        assert end.state == "done" and re.fullmatch(r"\d+ files, \d+ passages", end.detail)
        store = IndexStore.open(settings.index_path)
        assert store.model == str(other_tiny_embedder_path())
        assert store.generation > old_generation
        # Rebuilt: sources again, named relative to the documents folder.
        events = list(session.turn("What does beam search keep?", use_tools=False, dry_run=True))
        (retrieved,) = of_type(events, PassagesRetrieved)
        assert retrieved.passages
        assert all(p.source.startswith("docs/") for p in retrieved.passages)
        assert not [n for n in of_type(events, Notice) if "without sources" in n.text]
    finally:
        release.set()
        session.close()


def test_a_failed_rebuild_keeps_the_old_index_and_says_why(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupted rebuild publishes nothing: the old generation stays whole and live."""
    settings = _index_with_first_embedder(tmp_path, tiny_model_dir)
    before = IndexStore.open(settings.index_path)

    def broken_put(*args: object, **kwargs: object) -> None:
        raise AssistantError("disk gone")

    monkeypatch.setattr("assistant.rag.store_writer.IndexWriter.put_document", broken_put)
    heard: list[LoadStage] = []
    session = ChatSession(settings, history=HistoryStore(":memory:"))
    try:
        session.load(on_stage=heard.append)
        rebuild = session.parts.rebuild
        assert rebuild is not None and rebuild.wait(120)
        end = [s for s in heard if s.name == REBUILD_STAGE][-1]
        assert (end.state, end.detail) == ("failed", "disk gone")
        after = IndexStore.open(settings.index_path)
        assert (after.generation, after.model, after.count) == (
            before.generation,
            before.model,
            before.count,
        )
        with pytest.raises(EmbedderMismatchError):
            after.check_embedder(str(other_tiny_embedder_path()))
        assert session.parts.retriever() is None
    finally:
        session.close()


@pytest.mark.slow
def test_a_killed_rebuild_leaves_the_old_index_whole(tmp_path: Path) -> None:
    """`assistant index rebuild` for another embedder, SIGKILLed once it holds the writer lock
    (at a few moments of its work): the old generation stays live and consistent; a rebuild
    that runs to the end switches the index to the configured model."""
    from tests.test_rag_crash import _env, _wait_for_lock

    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(12):
        text = "\n\n".join(f"Note {n} paragraph {p}: beam search and attention." for p in range(8))
        (docs / f"note{n:02d}.md").write_text(text + "\n", encoding="utf-8")
    index = tmp_path / "index"
    Indexer(rag_settings(index), embedder=tiny_embedder()).add([docs])
    before = IndexStore.open(index)
    env = _env() | {"ASSISTANT_EMBED_MODEL": str(other_tiny_embedder_path())}
    command = [sys.executable, "-m", "assistant", "index", "rebuild", "--index", str(index)]
    kept = 0
    for delay in (0.0, 0.05, 0.15, 0.6):
        proc = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stderr=subprocess.DEVNULL)
        _wait_for_lock(proc.pid, lambda p=proc: p.poll() is None, index)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        after = IndexStore.open(index)  # verifies vectors, rows and postings agree
        if after.model == before.model:  # killed before its one commit: nothing changed
            kept += 1
            assert (after.generation, after.count) == (before.generation, before.count)
        else:  # it finished first: the whole new index, nothing of the old
            assert after.model == str(other_tiny_embedder_path()) and after.count == before.count
        after.close()
    assert kept  # at least the kill right after it took the lock came before its commit
    done = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rebuilt = IndexStore.open(index)
    assert rebuilt.model == str(other_tiny_embedder_path()) and rebuilt.count == before.count
