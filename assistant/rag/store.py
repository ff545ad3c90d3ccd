"""The on-disk index: FAISS vectors + SQLite documents/chunks/lexical terms, read side.

Layout of an index directory (one *generation* is live at a time)::

    manifest.json          names the live generation's files; written last, atomically
    meta-000007.sqlite3    documents, chunks and roots
    flat-000007.faiss      exact inner-product index (IndexIDMap2 over IndexFlatIP)
    lex-000007.npz         BM25 postings (numpy arrays, no pickle)
    hnsw-000007.faiss      approximate index, only above the configured size
    lock                   held (flock) by the one writer

Generation files never change after the manifest names them, so readers need no lock, and a
writer killed at any moment leaves either the previous or the new generation. No pickle: FAISS
native files, SQLite, numpy ``.npz`` (``allow_pickle=False``) and JSON only.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from assistant.errors import IndexStoreError
from assistant.rag.bm25 import Postings
from assistant.rag.lexical import lexical_query_tokens
from assistant.rag.sparse_terms import Scope, SparseTermsIndex, SparseVector

MANIFEST = "manifest.json"
LOCK_FILE = "lock"
FORMAT_VERSION = 2
HNSW_EF_SEARCH = 256  # recall over speed: about 2 ms per query at 20k random vectors

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE roots(path TEXT PRIMARY KEY);
CREATE TABLE documents(
    path TEXT PRIMARY KEY, root TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, kind TEXT NOT NULL, n_chunks INTEGER NOT NULL);
CREATE TABLE chunks(
    id INTEGER PRIMARY KEY, path TEXT NOT NULL, ord INTEGER NOT NULL,
    start_line INTEGER NOT NULL, end_line INTEGER NOT NULL, page INTEGER,
    heading TEXT NOT NULL, text TEXT NOT NULL);
CREATE INDEX chunks_by_path ON chunks(path);
"""
# Added after format 2 was out: older files lack it (and then hold no sparse vectors), so a
# writer also runs it on a copied file.
SPARSE_TABLE = (
    "CREATE TABLE IF NOT EXISTS sparse("
    "chunk_id INTEGER PRIMARY KEY, ids BLOB NOT NULL, weights BLOB NOT NULL)"
)
SCHEMA += SPARSE_TABLE + ";\n"


@dataclass(frozen=True)
class DocumentRow:
    path: str
    root: str
    sha256: str
    size: int
    mtime_ns: int
    kind: str
    n_chunks: int


@dataclass(frozen=True)
class ChunkRow:
    id: int
    path: str
    ord: int
    start_line: int
    end_line: int
    page: int | None
    heading: str
    text: str


class EmbedderMismatchError(IndexStoreError):
    """The index holds vectors of another embedding model than the configured one: its
    vectors and the query's would not be comparable, so nothing may read or add to it."""

    def __init__(self, built_with: str, configured: str) -> None:
        super().__init__(
            f"the index was built with {built_with}; the configured embedder is {configured}: "
            "run `assistant index rebuild`"
        )
        self.built_with, self.configured = built_with, configured


def _embedder_name(model: object, dim: object) -> str:
    return f"{model} ({dim}-d)" if dim is not None else str(model)


def check_embedder(manifest: dict[str, Any], model: str, dim: int | None = None) -> None:
    """Raise EmbedderMismatchError unless ``manifest`` was built by ``model`` (and, when
    known, of ``dim`` dimensions). Every format-2 manifest records both; one without a model
    is treated as built by an unknown one (a rebuild fixes it), never guessed."""
    built, built_dim = manifest.get("model"), manifest.get("dim")
    if built == model and (dim is None or built_dim is None or int(built_dim) == dim):
        return
    same_name = built == model
    raise EmbedderMismatchError(
        _embedder_name(built or "an unknown embedder", built_dim if same_name else None),
        _embedder_name(model, dim if same_name else None),
    )


def set_faiss_threads(n: int) -> None:
    faiss.omp_set_num_threads(max(1, n))


def manifest_sparse_scope(manifest: dict[str, Any]) -> Scope:
    """Which chunks of the index have sparse vectors (rag/sparse_terms.py); an index built
    before there were scopes has them on every chunk."""
    return "cross-lingual" if manifest.get("sparse_scope") == "cross-lingual" else "all"


def read_manifest(root: Path) -> dict[str, Any] | None:
    path = root / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise IndexStoreError(f"unreadable index manifest {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        raise IndexStoreError(
            f"index at {root} has an unknown format: run `assistant index rebuild`"
        )
    return data


def open_readonly_db(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise FileNotFoundError(path)
    # immutable=1: generation files never change, so SQLite may skip locking entirely.
    conn = sqlite3.connect(
        path.as_uri() + "?mode=ro&immutable=1", uri=True, check_same_thread=False
    )
    conn.execute("SELECT count(*) FROM meta").fetchone()
    return conn


def read_faiss(path: Path) -> faiss.IndexIDMap2:
    if not path.is_file():
        raise FileNotFoundError(path)
    index = faiss.read_index(str(path))
    if not isinstance(index, faiss.IndexIDMap2):
        raise IndexStoreError(f"{path} is not an index written by this program")
    inner = faiss.downcast_index(index.index)
    if isinstance(inner, faiss.IndexHNSW):
        inner.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def verify_consistency(
    root: Path, conn: sqlite3.Connection, index: Any, expected: int, postings: Postings | None
) -> None:
    """Refuse an index whose vectors, chunk rows and lexical postings disagree."""
    ids = np.array([r[0] for r in conn.execute("SELECT id FROM chunks ORDER BY id")], np.int64)
    vector_ids = np.sort(faiss.vector_to_array(index.id_map).astype(np.int64))
    lexical_ok = postings is None or np.array_equal(postings.doc_ids, ids)
    if (
        len(ids) != expected
        or index.ntotal != expected
        or not np.array_equal(ids, vector_ids)
        or not lexical_ok
    ):
        raise IndexStoreError(
            f"index at {root} is inconsistent ({index.ntotal} vectors, {len(ids)} chunk rows, "
            f"manifest says {expected}): run `assistant index rebuild`"
        )


class IndexStore:
    """Read-only view of the live generation of an index directory."""

    def __init__(
        self,
        root: Path,
        manifest: dict[str, Any],
        conn: sqlite3.Connection,
        index: Any,
        postings: Postings,
    ):
        self.root = root
        self.manifest = manifest
        self._conn = conn
        self._index = index
        self._postings = postings
        self._sparse: SparseTermsIndex | None = None  # built on the first sparse search
        self._lock = threading.Lock()

    @staticmethod
    def exists(root: Path) -> bool:
        return (Path(root) / MANIFEST).is_file()

    @classmethod
    def open(cls, root: Path, *, threads: int = 1) -> IndexStore:
        root = Path(root)
        set_faiss_threads(threads)
        for _attempt in range(5):
            manifest = read_manifest(root)
            if manifest is None:
                raise IndexStoreError(f"no index at {root}: run `assistant index add PATH`")
            try:
                conn = open_readonly_db(root / manifest["db"])
                index = read_faiss(root / (manifest.get("hnsw") or manifest["flat"]))
                postings = Postings.load(root / manifest["lexical"])
            except FileNotFoundError:
                continue  # a writer replaced this generation meanwhile: read the new manifest
            except (RuntimeError, sqlite3.DatabaseError, ValueError, KeyError, OSError) as exc:
                raise IndexStoreError(
                    f"index at {root} is damaged ({exc}): run `assistant index rebuild`"
                ) from exc
            verify_consistency(root, conn, index, int(manifest["count"]), postings)
            return cls(root, manifest, conn, index, postings)
        raise IndexStoreError(f"index at {root} keeps changing under the reader; try again")

    @property
    def generation(self) -> int:
        return int(self.manifest["generation"])

    @property
    def model(self) -> str:
        return str(self.manifest["model"])

    @property
    def dim(self) -> int:
        return int(self.manifest["dim"])

    @property
    def count(self) -> int:
        return int(self.manifest["count"])

    def check_embedder(self, model: str, dim: int | None = None) -> None:
        """Refuse (EmbedderMismatchError) a query embedder other than the one that built it."""
        check_embedder(self.manifest, model, dim)

    @property
    def kind(self) -> str:
        return "hnsw" if self.manifest.get("hnsw") else "flat"

    def is_stale(self) -> bool:
        """Whether a writer has published a newer generation since this view was opened."""
        try:
            current = read_manifest(self.root)
        except IndexStoreError:
            return False
        return current is not None and current.get("generation") != self.generation

    def search_dense(self, query: np.ndarray, n: int) -> list[tuple[int, float]]:
        if self.count == 0 or n <= 0:
            return []
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        with self._lock:
            scores, ids = self._index.search(q, min(n, self.count))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def dense_scores(self, query: np.ndarray, ids: list[int]) -> dict[int, float]:
        """Exact cosine scores of given chunks (for candidates found only lexically)."""
        with self._lock:
            return {i: float(np.dot(self._index.reconstruct(i), query)) for i in ids}

    def vector(self, chunk_id: int) -> np.ndarray:
        """The stored (unit-length) vector of one chunk."""
        with self._lock:
            return np.asarray(self._index.reconstruct(chunk_id), dtype=np.float32)

    def search_lexical(self, query: str, n: int) -> list[tuple[int, float]]:
        """BM25 over words and CJK bigrams (see :mod:`assistant.rag.lexical`)."""
        return self._postings.search(lexical_query_tokens(query), n)

    @property
    def sparse_id(self) -> str | None:
        """Which sparse latent-term vectors the chunks in scope have (None: this index has
        none)."""
        return self.manifest.get("sparse") or None

    @property
    def sparse_chunks(self) -> int | None:
        """How many chunks have sparse vectors (None: an index from before this was kept)."""
        value = self.manifest.get("sparse_chunks")
        return int(value) if value is not None else None

    @property
    def sparse_scope(self) -> Scope:
        """Which chunks have them and which questions the list serves (rag/sparse_terms.py)."""
        return manifest_sparse_scope(self.manifest)

    def search_sparse(self, query: SparseVector, n: int) -> list[tuple[int, float]]:
        """Chunks by the dot product of their sparse vectors with ``query``."""
        if self.sparse_id is None or n <= 0:
            return []
        with self._lock:
            if self._sparse is None:
                has_table = self._conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sparse'"
                ).fetchone()
                rows = self._conn.execute("SELECT * FROM sparse") if has_table else []
                self._sparse = SparseTermsIndex(rows)
            index = self._sparse
        return index.search(query, n)

    def chunk_ids(self) -> list[int]:
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT id FROM chunks ORDER BY id")]

    def chunks(self, ids: list[int]) -> dict[int, ChunkRow]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        with self._lock:
            rows = self._conn.execute(f"SELECT * FROM chunks WHERE id IN ({marks})", ids)
            return {r[0]: ChunkRow(*r) for r in rows.fetchall()}

    def chunks_of(self, path: str) -> list[ChunkRow]:
        """The chunks of one document, in order (empty for a path not in the index)."""
        with self._lock:
            rows = self._conn.execute("SELECT * FROM chunks WHERE path = ? ORDER BY ord", (path,))
            return [ChunkRow(*r) for r in rows.fetchall()]

    def documents(self) -> list[DocumentRow]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM documents ORDER BY path").fetchall()
        return [DocumentRow(*r) for r in rows]

    def roots(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT path FROM roots ORDER BY path")]

    def stats(self) -> dict[str, Any]:
        files = sum(f.stat().st_size for f in self.root.iterdir() if f.is_file())
        with self._lock:
            (documents,) = self._conn.execute("SELECT count(*) FROM documents").fetchone()
        return {
            "index": str(self.root),
            "model": self.model,
            "dim": self.dim,
            "documents": int(documents),
            "chunks": self.count,
            "vector_index": self.kind,
            "sparse_terms": f"{self.sparse_id} ({self.sparse_scope})" if self.sparse_id else "none",
            "generation": self.generation,
            "bytes_on_disk": files,
        }

    def close(self) -> None:
        with self._lock:
            self._conn.close()
