"""Conversation history in SQLite: messages with their decoding settings, seed, model and
per-token probabilities; branches through ``parent_id``; FTS5 full-text search; export.

One connection shared across threads behind a lock (the TUI writes from a worker thread).
The schema version lives in ``PRAGMA user_version``; a newer database is refused.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.chat.export import conversation_markdown
from assistant.chat.history_records import Conversation, Message, SearchHit
from assistant.errors import DataError, UsageError

SCHEMA_VERSION = 1
ROLES = ("user", "assistant", "tool")
_JSON_FIELDS = ("decoding", "tokens", "sources", "tool_calls", "budget")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    parent_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
    text TEXT NOT NULL,
    model TEXT,
    decoding TEXT,
    seed INTEGER,
    tokens TEXT,
    sources TEXT,
    tool_calls TEXT,
    budget TEXT,
    finish_reason TEXT,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id, id);
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts
    USING fts5(text, content='messages', content_rowid='id');
CREATE TRIGGER IF NOT EXISTS messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS messages_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER IF NOT EXISTS messages_au AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _fts_query(text: str) -> str:
    """User words as quoted FTS5 terms (all must match): no FTS syntax reaches SQLite."""
    terms = [t.replace('"', '""') for t in text.split() if t.strip('"')]
    return " ".join(f'"{t}"' for t in terms)


class HistoryStore:
    """The conversation database at ``db_path`` (created on first use)."""

    def __init__(self, db_path: str | Path) -> None:
        self.path = Path(db_path)
        if str(db_path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(str(db_path), check_same_thread=False, timeout=10)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise DataError(f"cannot open conversation history {db_path}: {exc}") from exc

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise DataError(
                f"conversation history {self.path} has schema version {version}; this version "
                f"of the assistant reads up to {SCHEMA_VERSION}"
            )
        if version < SCHEMA_VERSION:
            with self._db:
                self._db.executescript(_SCHEMA)
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        if str(self.path) != ":memory:":
            self._db.execute("PRAGMA journal_mode = WAL")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._db:
            yield self._db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ writing
    def new_conversation(self, title: str = "") -> int:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO conversations(title, created) VALUES (?, ?)",
                (title.strip() or "untitled", _now()),
            )
            return int(cur.lastrowid or 0)

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))

    def delete_conversation(self, conversation_id: int) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def add_message(
        self,
        conversation_id: int,
        role: str,
        text: str,
        *,
        parent_id: int | None = None,
        model: str | None = None,
        decoding: Mapping[str, Any] | None = None,
        seed: int | None = None,
        tokens: Sequence[Any] | None = None,
        sources: Sequence[Any] | None = None,
        tool_calls: Sequence[Any] | None = None,
        budget: Mapping[str, Any] | None = None,
        finish_reason: str | None = None,
    ) -> int:
        """Store one message; returns its id. JSON fields take plain data (dicts, lists)."""
        if role not in ROLES:
            raise UsageError(f"invalid message role {role!r}: one of {', '.join(ROLES)}")
        with self._tx() as db:
            if not db.execute(
                "SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone():
                raise UsageError(f"no conversation with id {conversation_id}")
            cur = db.execute(
                "INSERT INTO messages(conversation_id, parent_id, role, text, model, decoding, "
                "seed, tokens, sources, tool_calls, budget, finish_reason, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    parent_id,
                    role,
                    text,
                    model,
                    _dump(dict(decoding) if decoding is not None else None),
                    seed,
                    _dump(list(tokens) if tokens is not None else None),
                    _dump(list(sources) if sources is not None else None),
                    _dump(list(tool_calls) if tool_calls is not None else None),
                    _dump(dict(budget) if budget is not None else None),
                    finish_reason,
                    _now(),
                ),
            )
            return int(cur.lastrowid or 0)

    # ------------------------------------------------------------------ reading
    def list_conversations(self) -> list[Conversation]:
        """Newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT c.id, c.title, c.created, COUNT(m.id) AS n FROM conversations c "
                "LEFT JOIN messages m ON m.conversation_id = c.id GROUP BY c.id ORDER BY c.id DESC"
            ).fetchall()
        return [Conversation(r["id"], r["title"], r["created"], r["n"]) for r in rows]

    def conversation(self, conversation_id: int) -> Conversation:
        with self._lock:
            row = self._db.execute(
                "SELECT c.id, c.title, c.created, COUNT(m.id) AS n FROM conversations c "
                "LEFT JOIN messages m ON m.conversation_id = c.id WHERE c.id = ? GROUP BY c.id",
                (conversation_id,),
            ).fetchone()
        if row is None:
            raise UsageError(f"no conversation with id {conversation_id}")
        return Conversation(row["id"], row["title"], row["created"], row["n"])

    def messages(self, conversation_id: int) -> list[Message]:
        """Every message of a conversation (all branches), in the order written."""
        self.conversation(conversation_id)
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
            ).fetchall()
        return [_message(r) for r in rows]

    def message(self, message_id: int) -> Message:
        with self._lock:
            row = self._db.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise UsageError(f"no message with id {message_id}")
        return _message(row)

    def branch(self, message_id: int) -> list[Message]:
        """The path from the root of a conversation down to ``message_id`` (one branch)."""
        path: list[Message] = []
        seen: set[int] = set()
        current: int | None = message_id
        while current is not None and current not in seen:
            seen.add(current)
            message = self.message(current)
            path.append(message)
            current = message.parent_id
        return list(reversed(path))

    def search(self, text: str, limit: int = 50) -> list[SearchHit]:
        """Messages containing all the words of ``text`` (FTS5, best matches first)."""
        query = _fts_query(text)
        if not query:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT m.id, m.conversation_id, m.role, c.title, "
                "snippet(messages_fts, 0, '[', ']', '…', 12) AS snip "
                "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
                "JOIN conversations c ON c.id = m.conversation_id "
                "WHERE messages_fts MATCH ? ORDER BY rank LIMIT ?",
                (query, limit),
            ).fetchall()
        return [
            SearchHit(r["conversation_id"], r["title"], r["id"], r["role"], r["snip"]) for r in rows
        ]

    # ------------------------------------------------------------------ export
    def export_json(self, conversation_id: int) -> dict[str, Any]:
        """Everything, per-token probabilities included."""
        conversation = self.conversation(conversation_id)
        return {
            "schema_version": SCHEMA_VERSION,
            "conversation": asdict(conversation),
            "messages": [m.to_dict() for m in self.messages(conversation_id)],
        }

    def export_markdown(self, conversation_id: int) -> str:
        return conversation_markdown(
            self.conversation(conversation_id), self.messages(conversation_id)
        )


def _message(row: sqlite3.Row) -> Message:
    data = dict(row)
    for name in _JSON_FIELDS:
        data[name] = json.loads(data[name]) if data[name] is not None else None
    return Message(**data)


__all__ = ["SCHEMA_VERSION", "Conversation", "HistoryStore", "Message", "SearchHit"]
