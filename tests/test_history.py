"""Conversation history: schema, branches, full-text search, exports, concurrency."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from assistant.chat.history import SCHEMA_VERSION, HistoryStore
from assistant.errors import DataError, UsageError

TOKENS = [
    {
        "text": " Beam",
        "token_id": 12,
        "logprob": -0.5,
        "rank": 1,
        "top": [{"token_id": 12, "text": " Beam", "prob": 0.61, "logprob": -0.5}],
    },
    {"text": " search", "token_id": 13, "logprob": -1.5, "rank": 2, "top": []},
]


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    return HistoryStore(tmp_path / "h" / "history.sqlite3")


def add_turn(store: HistoryStore, cid: int, q: str, a: str, parent: int | None = None) -> int:
    user = store.add_message(cid, "user", q, parent_id=parent)
    return store.add_message(
        cid,
        "assistant",
        a,
        parent_id=user,
        model="gpt2",
        decoding={"strategy": "sample", "temperature": 0.7, "max_new_tokens": 32},
        seed=1234,
        tokens=TOKENS,
        sources=[{"source": "corpus/decoding.md:1-20", "score": 0.9}],
        tool_calls=[
            {
                "name": "calculator.evaluate",
                "arguments": {"expression": "2^20"},
                "ok": True,
                "text": "```1048576```",
            }
        ],
        budget={"prompt_tokens": 300, "parts": []},
        finish_reason="stop",
    )


def test_messages_round_trip_with_all_fields(store: HistoryStore) -> None:
    cid = store.new_conversation("decoding")
    answer_id = add_turn(store, cid, "What is beam search?", "Beam search keeps k sequences.")
    messages = store.messages(cid)
    assert [m.role for m in messages] == ["user", "assistant"]
    answer = messages[1]
    assert answer.id == answer_id and answer.parent_id == messages[0].id
    assert answer.decoding == {"strategy": "sample", "temperature": 0.7, "max_new_tokens": 32}
    assert answer.seed == 1234 and answer.model == "gpt2" and answer.finish_reason == "stop"
    assert answer.tokens == TOKENS
    assert answer.sources == [{"source": "corpus/decoding.md:1-20", "score": 0.9}]
    assert answer.budget == {"prompt_tokens": 300, "parts": []}
    assert store.list_conversations()[0].message_count == 2


def test_schema_version_recorded_and_newer_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    HistoryStore(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(DataError, match="schema version"):
        HistoryStore(path)


def test_reopen_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    first = HistoryStore(path)
    cid = first.new_conversation("kept")
    add_turn(first, cid, "q?", "a.")
    first.close()
    again = HistoryStore(path)
    assert [c.title for c in again.list_conversations()] == ["kept"]
    assert len(again.messages(cid)) == 2


def test_branches_follow_parent_ids(store: HistoryStore) -> None:
    cid = store.new_conversation("fork")
    first = add_turn(store, cid, "first?", "one.")
    left = add_turn(store, cid, "left?", "L.", parent=first)
    right = add_turn(store, cid, "right?", "R.", parent=first)
    assert [m.text for m in store.branch(left)] == ["first?", "one.", "left?", "L."]
    assert [m.text for m in store.branch(right)] == ["first?", "one.", "right?", "R."]
    assert len(store.messages(cid)) == 6


def test_full_text_search(store: HistoryStore) -> None:
    a = store.new_conversation("about beams")
    add_turn(store, a, "How does beam search work?", "It keeps the best partial sequences.")
    b = store.new_conversation("about sampling")
    add_turn(store, b, "What is nucleus sampling?", "Top-p keeps the smallest likely set.")
    hits = store.search("partial sequences")
    assert [(h.conversation_id, h.role) for h in hits] == [(a, "assistant")]
    assert "[partial]" in hits[0].snippet and hits[0].conversation_title == "about beams"
    assert {h.conversation_id for h in store.search("keeps")} == {a, b}
    assert store.search("nonexistentword") == []
    # FTS syntax in user text is taken literally, never as a query language.
    assert store.search('"unbalanced OR NEAR(') == []
    assert store.search("   ") == []


def test_exports(store: HistoryStore) -> None:
    cid = store.new_conversation("export me")
    add_turn(store, cid, "How much is 2^20?", "It is 1048576.")
    data = store.export_json(cid)
    json.dumps(data)  # plain data all the way down
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["conversation"]["title"] == "export me"
    assert data["messages"][1]["tokens"][0]["top"][0]["prob"] == 0.61
    md = store.export_markdown(cid)
    assert md.startswith("# export me\n")
    assert "## You" in md and "## Assistant" in md and "It is 1048576." in md
    assert "model `gpt2`" in md and "seed=1234" in md and "temperature=0.7" in md
    assert "corpus/decoding.md:1-20" in md and "calculator.evaluate" in md
    assert "````\n```1048576```\n````" in md  # the fence outgrows backticks in the result


def test_errors_for_unknown_ids_and_roles(store: HistoryStore) -> None:
    with pytest.raises(UsageError):
        store.messages(999)
    cid = store.new_conversation("x")
    with pytest.raises(UsageError):
        store.add_message(cid, "system", "no such role")
    with pytest.raises(UsageError):
        store.add_message(999, "user", "no such conversation")


def test_concurrent_writers_from_threads(store: HistoryStore) -> None:
    cid = store.new_conversation("threads")
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(20):
                store.add_message(cid, "user", f"writer{n} note{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(store.messages(cid)) == 80
    assert len(store.search("writer3")) == 20
