"""ChatSession.load reports its stages (model, embedder, index, tools) as they run, over a
tiny model, the tiny embedder, a tmp document folder and the real stdio tool servers."""

from __future__ import annotations

from pathlib import Path

from assistant.chat.history import HistoryStore
from assistant.chat.loading import LOAD_STAGES, LoadStage
from assistant.chat.session import ChatSession
from tests.chat_support import chat_settings, write_docs


def test_load_reports_each_stage_in_order_with_times(tiny_model_dir: Path, tmp_path: Path) -> None:
    settings = chat_settings(tmp_path / "home", tiny_model_dir, write_docs(tmp_path / "docs"))
    session = ChatSession(settings, history=HistoryStore(":memory:"))
    heard: list[LoadStage] = []
    try:
        notices = session.load(on_stage=heard.append)
        assert not [n for n in notices if n.level == "error"], notices
        assert any("built the document index" in n.text for n in notices)
        names = [stage.name for stage in heard]
        # each stage is announced before it ends, and the next starts only after that
        firsts = [names.index(name) for name in LOAD_STAGES]
        assert firsts == sorted(firsts), names
        for name in LOAD_STAGES:
            mine = [s for s in heard if s.name == name]
            assert mine[0].state == "running", mine
            assert mine[-1].state == "done", mine
            assert all(s.state == "running" for s in mine[:-1]), mine
            assert mine[-1].seconds >= mine[0].seconds >= 0.0
        # building the index reported files done of total, then the embedding of the rest
        index_progress = [s.detail for s in heard if s.name == "index" and s.detail]
        assert index_progress[0] == "1/3 files", index_progress
        assert index_progress[-1] == "3 files read, embedding", index_progress
        tools_end = [s for s in heard if s.name == "tools"][-1]
        assert tools_end.detail == "2/2 servers"
        # the embedder loaded ahead is the one the index was built with and searches with
        retriever = session.parts.retriever()
        assert retriever is not None and retriever.embedder is session.parts.embedder()
    finally:
        session.close()


def test_a_stage_that_fails_is_reported_and_the_rest_still_load(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    settings = chat_settings(
        tmp_path / "home",
        tiny_model_dir,
        write_docs(tmp_path / "docs"),
        embed_model=str(tmp_path / "no-such-embedder"),
    )
    session = ChatSession(settings, history=HistoryStore(":memory:"))
    heard: list[LoadStage] = []
    try:
        notices = session.load(on_stage=heard.append)
        ends = {s.name: s for s in heard if s.state != "running"}
        assert ends["model"].state == "done"
        assert ends["embedder"].state == "failed" and "no-such-embedder" in ends["embedder"].detail
        assert ends["index"].state == "failed"
        assert ends["tools"].state == "done"
        assert any("embedding model unavailable" in n.text for n in notices), notices
    finally:
        session.close()
