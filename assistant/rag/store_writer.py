"""The write side of the index: one writer at a time, atomic generation commits.

A commit writes the new generation's SQLite file and FAISS file(s) under temporary names,
fsyncs and renames them, fsyncs the directory, and only then replaces ``manifest.json`` the
same way. Until that last rename readers (and a restarted writer) see the previous generation;
files of dead generations and temporaries are removed by the next writer.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import faiss
import numpy as np

from assistant.errors import IndexStoreError
from assistant.rag.atomic_files import fsync_path, publish, publish_faiss
from assistant.rag.bm25 import Postings
from assistant.rag.chunking import Chunk
from assistant.rag.hnsw import HnswFollower
from assistant.rag.lexical import lexical_tokens
from assistant.rag.lock import WriterLock
from assistant.rag.sparse_terms import Scope, SparseVector, pack
from assistant.rag.store import (
    FORMAT_VERSION,
    LOCK_FILE,
    MANIFEST,
    SCHEMA,
    SPARSE_TABLE,
    DocumentRow,
    check_embedder,
    manifest_sparse_scope,
    open_readonly_db,
    read_faiss,
    read_manifest,
    set_faiss_threads,
    verify_consistency,
)

_DAMAGED = (ValueError, KeyError, OSError)  # what loading a torn or foreign file raises


class IndexWriter:
    """Context manager holding the writer lock; changes become visible on :meth:`commit`."""

    def __init__(
        self,
        root: Path,
        *,
        model: str,
        dim: int,
        hnsw_threshold: int = 50_000,
        lock_timeout: float = 5.0,
        fresh: bool = False,
        threads: int = 1,
        sparse_id: str | None = None,
        sparse_scope: Scope = "all",
    ) -> None:
        self.root = Path(root)
        self.model, self.dim = model, dim
        # Sparse latent-term vectors (rag/sparse_terms.py): a new or rebuilt index takes the
        # caller's choice (and scope: which chunks get one); an existing one keeps its own, so
        # every chunk in scope has them or none does.
        self.sparse_id = sparse_id
        self.sparse_scope: Scope = sparse_scope
        self.hnsw_threshold = hnsw_threshold
        self.fresh = fresh
        set_faiss_threads(threads)
        self._lock = WriterLock(self.root / LOCK_FILE, timeout=lock_timeout)
        self._work: sqlite3.Connection | None = None
        self._base: sqlite3.Connection | None = None
        self._work_path = self.root / f"work-{os.getpid()}.sqlite3"
        self.generation = 0
        self.manifest: dict[str, Any] | None = None
        self.dirty = False
        self._hnsw = HnswFollower(dim)
        # Lexical postings change by difference: chunks removed and added since the last commit.
        self._postings: Postings | None = None
        self._lex_removed: set[int] = set()
        self._lex_added: dict[int, list[str]] = {}

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> IndexWriter:
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        try:
            self._load()
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release()

    def _release(self) -> None:
        for conn in (self._work, self._base):
            if conn is not None:
                conn.close()
        self._work = self._base = None
        with contextlib.suppress(FileNotFoundError):
            self._work_path.unlink()
        self._lock.release()

    def _load(self) -> None:
        self.manifest = read_manifest(self.root)
        self._cleanup()
        self.flat = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        if self.manifest is None:
            return
        self.generation = int(self.manifest["generation"])
        if self.fresh:
            # Rebuilding: the old generation is only consulted for its roots.
            with contextlib.suppress(FileNotFoundError, sqlite3.DatabaseError):
                self._base = open_readonly_db(self.root / self.manifest["db"])
            self.dirty = True
            return
        # Vectors of two models never meet in one FAISS index: only a rebuild changes model.
        check_embedder(self.manifest, self.model, self.dim)
        self.sparse_id = self.manifest.get("sparse") or None  # kept, as the model is
        self.sparse_scope = manifest_sparse_scope(self.manifest)
        try:
            self._base = open_readonly_db(self.root / self.manifest["db"])
            self.flat = read_faiss(self.root / self.manifest["flat"])
            self._postings = Postings.load(self.root / self.manifest["lexical"])
        except (
            FileNotFoundError,
            RuntimeError,
            sqlite3.DatabaseError,
            ValueError,
            KeyError,
        ) as exc:
            raise IndexStoreError(
                f"index at {self.root} is damaged ({exc}): run `assistant index rebuild`"
            ) from exc
        verify_consistency(
            self.root, self._base, self.flat, int(self.manifest["count"]), self._postings
        )
        self._hnsw.stale = not self.manifest.get("hnsw")

    def _cleanup(self) -> None:
        """Remove temporaries and dead generations (safe: we hold the lock)."""
        live = {MANIFEST, LOCK_FILE}
        if self.manifest:
            live |= {self.manifest.get(k) or "" for k in ("db", "flat", "hnsw", "lexical")}
        for entry in self.root.iterdir():
            if entry.name not in live and entry.is_file():
                with contextlib.suppress(OSError):
                    entry.unlink()

    # -- reads (see uncommitted changes) -------------------------------------------------------

    def _db(self) -> sqlite3.Connection | None:
        if self._work is None and self.fresh:
            return None
        return self._work if self._work is not None else self._base

    def previous_roots(self) -> list[str]:
        """The folders and files added to the live generation (what a rebuild re-adds)."""
        if self._base is None:
            return []
        return [r[0] for r in self._base.execute("SELECT path FROM roots ORDER BY path")]

    def documents(self) -> dict[str, DocumentRow]:
        db = self._db()
        rows = db.execute("SELECT * FROM documents").fetchall() if db else []
        return {r[0]: DocumentRow(*r) for r in rows}

    def roots(self) -> list[str]:
        db = self._db()
        return [r[0] for r in db.execute("SELECT path FROM roots ORDER BY path")] if db else []

    @property
    def count(self) -> int:
        return int(self.flat.ntotal)

    # -- changes -------------------------------------------------------------------------------

    def _edit(self) -> sqlite3.Connection:
        """The private working copy of the database, created on the first change."""
        if self._work is None:
            with contextlib.suppress(FileNotFoundError):
                self._work_path.unlink()
            conn = sqlite3.connect(self._work_path)
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            if self._base is not None and not self.fresh:
                self._base.backup(conn)
                conn.execute(SPARSE_TABLE)
            else:
                conn.executescript(SCHEMA)
            self._work = conn
        self.dirty = True
        return self._work

    def add_root(self, path: str) -> None:
        if path not in self.roots():
            self._edit().execute("INSERT INTO roots(path) VALUES (?)", (path,))

    def remove_root(self, path: str) -> None:
        if path in self.roots():
            self._edit().execute("DELETE FROM roots WHERE path = ?", (path,))

    def touch_document(self, doc: DocumentRow) -> None:
        """Same content, new size/mtime: update the metadata only."""
        self._edit().execute(
            "UPDATE documents SET size = ?, mtime_ns = ?, root = ? WHERE path = ?",
            (doc.size, doc.mtime_ns, doc.root, doc.path),
        )

    def remove_document(self, path: str) -> int:
        db = self._edit()
        ids = [r[0] for r in db.execute("SELECT id FROM chunks WHERE path = ?", (path,))]
        if ids:
            marks = ",".join("?" * len(ids))
            db.execute(f"DELETE FROM chunks WHERE id IN ({marks})", ids)
            db.execute(f"DELETE FROM sparse WHERE chunk_id IN ({marks})", ids)
            for cid in ids:
                if self._lex_added.pop(cid, None) is None:
                    self._lex_removed.add(cid)
            self.flat.remove_ids(np.array(ids, dtype=np.int64))  # type: ignore[arg-type]
            self._hnsw.removed()
        db.execute("DELETE FROM documents WHERE path = ?", (path,))
        return len(ids)

    def put_document(
        self,
        doc: DocumentRow,
        chunks: list[Chunk],
        vectors: np.ndarray,
        sparse: list[SparseVector | None] | None = None,
    ) -> None:
        """Replace a document's chunks and vectors (one row of ``vectors`` per chunk, and one
        entry of ``sparse`` per chunk when this index keeps them: None for a chunk outside its
        scope, never in scope ``all``)."""
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        if self.sparse_id is not None and (
            sparse is None
            or len(sparse) != len(chunks)
            or (self.sparse_scope == "all" and any(v is None for v in sparse))
        ):
            raise ValueError(f"this index keeps sparse vectors ({self.sparse_id}): one per chunk")
        self.remove_document(doc.path)
        db = self._edit()
        (max_id,) = db.execute("SELECT coalesce(max(id), -1) FROM chunks").fetchone()
        ids = np.arange(max_id + 1, max_id + 1 + len(chunks), dtype=np.int64)
        db.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (int(i), doc.path, n, c.start_line, c.end_line, c.page, c.heading, c.text)
                for n, (i, c) in enumerate(zip(ids, chunks, strict=True))
            ],
        )
        for i, c in zip(ids, chunks, strict=True):
            self._lex_added[int(i)] = lexical_tokens(c.heading + "\n" + c.text)
        if self.sparse_id is not None and sparse is not None:
            db.executemany(
                "INSERT INTO sparse VALUES (?, ?, ?)",
                [(int(i), *pack(v)) for i, v in zip(ids, sparse, strict=True) if v is not None],
            )
        db.execute(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)",
            (doc.path, doc.root, doc.sha256, doc.size, doc.mtime_ns, doc.kind, len(chunks)),
        )
        if len(chunks):
            vecs = np.ascontiguousarray(vectors, dtype=np.float32)
            self.flat.add_with_ids(vecs, ids)
            self._hnsw.added(vecs, ids)

    # -- commit --------------------------------------------------------------------------------

    def commit(self) -> bool:
        """Publish the changes as a new generation; returns whether anything was written."""
        if not self.dirty:
            return False
        db = self._edit()
        gen = self.generation + 1
        (sparse_chunks,) = db.execute("SELECT count(*) FROM sparse").fetchone()
        names = {
            "db": f"meta-{gen:06d}.sqlite3",
            "flat": f"flat-{gen:06d}.faiss",
            "lexical": f"lex-{gen:06d}.npz",
            "hnsw": None,
        }
        meta = {
            "generation": gen,
            "model": self.model,
            "dim": self.dim,
            "count": self.count,
            "sparse": self.sparse_id or "",
            "sparse_scope": self.sparse_scope if self.sparse_id else "",
            "sparse_chunks": int(sparse_chunks),
        }
        db.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, str(v)) for k, v in meta.items()]
        )
        db.commit()
        db.close()
        self._work = None
        publish(self._work_path, self.root / str(names["db"]))
        publish_faiss(self.flat, self.root, str(names["flat"]))
        base = self._postings if self._postings is not None and not self.fresh else Postings.empty()
        self._postings = base.updated(self._lex_removed, self._lex_added)
        self._lex_removed, self._lex_added = set(), {}
        tmp_lex = self.root / f"{names['lexical']}.tmp"
        self._postings.save(tmp_lex)
        publish(tmp_lex, self.root / str(names["lexical"]))
        if self.count >= self.hnsw_threshold:
            hnsw_name = f"hnsw-{gen:06d}.faiss"
            previous = self.manifest.get("hnsw") if self.manifest else None
            hnsw = self._hnsw.build(self.flat, self.root / previous if previous else None)
            publish_faiss(hnsw, self.root, hnsw_name)
            names["hnsw"] = hnsw_name
        else:
            self._hnsw.skipped()
        fsync_path(self.root)  # the data files' names are durable before the manifest
        manifest = {"format": FORMAT_VERSION, **meta, **names, "committed_at": time.time()}
        tmp = self.root / f"{MANIFEST}.tmp-{os.getpid()}"
        tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        publish(tmp, self.root / MANIFEST)
        fsync_path(self.root)
        if self._base is not None:
            self._base.close()
        self._base = open_readonly_db(self.root / str(names["db"]))
        self.manifest, self.generation, self.dirty, self.fresh = manifest, gen, False, False
        self._cleanup()
        return True
