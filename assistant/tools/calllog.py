"""Every tool call, recorded in SQLite: when, which tool, with what, how it ended, how long.

One short-lived connection per write keeps this safe to use from any thread; a failing log
never fails the call it describes.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tool_calls (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  TEXT NOT NULL,      -- ISO 8601, UTC
    server      TEXT NOT NULL,
    tool        TEXT NOT NULL,
    arguments   TEXT NOT NULL,      -- JSON
    outcome     TEXT NOT NULL,      -- ok | tool_error | timeout | crashed | denied | unavailable
    approved    INTEGER NOT NULL,
    duration_s  REAL NOT NULL,
    error       TEXT,
    result_chars INTEGER NOT NULL DEFAULT 0
)
"""


@dataclass(frozen=True)
class CallRecord:
    started_at: str
    server: str
    tool: str
    arguments: dict[str, Any]
    outcome: str
    approved: bool
    duration_s: float
    error: str | None
    result_chars: int


class CallLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=5.0)
        conn.execute(_SCHEMA)
        return conn

    def record(
        self,
        *,
        started_at: datetime,
        server: str,
        tool: str,
        arguments: dict[str, Any],
        outcome: str,
        approved: bool,
        duration_s: float,
        error: str | None,
        result_chars: int,
    ) -> None:
        row = (
            started_at.astimezone(UTC).isoformat(timespec="milliseconds"),
            server,
            tool,
            json.dumps(arguments, ensure_ascii=False, default=str),
            outcome,
            int(approved),
            round(duration_s, 4),
            error,
            result_chars,
        )
        try:
            conn = self._connect()
            try:
                with conn:
                    conn.execute(
                        "INSERT INTO tool_calls (started_at, server, tool, arguments, outcome,"
                        " approved, duration_s, error, result_chars)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        row,
                    )
            finally:
                conn.close()
        except sqlite3.Error as exc:
            logger.warning("cannot record tool call in %s: %s", self.path, exc)

    def recent(self, limit: int = 50) -> list[CallRecord]:
        """The latest calls, newest first."""
        if not self.path.exists():
            return []
        conn = self._connect()
        try:
            rows = conn.execute(
                "SELECT started_at, server, tool, arguments, outcome, approved, duration_s,"
                " error, result_chars FROM tool_calls ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        finally:
            conn.close()
        return [
            CallRecord(r[0], r[1], r[2], json.loads(r[3]), r[4], bool(r[5]), r[6], r[7], r[8])
            for r in rows
        ]
