"""Keep an index in step with folders: add, update and remove documents by content hash.

Unchanged files are recognised by size and modification time (no read), touched-but-equal
files by their SHA-256; only changed files are loaded, chunked and embedded. Chunks are
embedded in batches across documents, and the store is committed at least every
``settings.index_commit_seconds`` so a killed run resumes where its last commit ended.
Progress goes to a callback; rendering it is the caller's business.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from assistant.errors import DataError, IndexStoreError
from assistant.rag.chunking import Chunk, chunk_document
from assistant.rag.embedder import Embedder, model_key
from assistant.rag.loaders import LoadError, parse_document, read_bytes
from assistant.rag.scan import absolute, check_paths, scan
from assistant.rag.sparse_terms import Scope, SparseVector, chunk_in_scope
from assistant.rag.store import DocumentRow, IndexStore, check_embedder, read_manifest
from assistant.rag.store_writer import IndexWriter
from assistant.settings import Settings

EMBED_BATCH_CHUNKS = 256


@dataclass(frozen=True)
class ProgressEvent:
    phase: Literal["scan", "index", "commit", "done"]
    files_done: int = 0
    files_total: int = 0
    chunks: int = 0
    path: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass
class IndexReport:
    index: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    chunks_added: int = 0
    chunks_total: int = 0
    commits: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["skipped"] = [{"path": p, "reason": r} for p, r in self.skipped]
        return data


def _under(path: str, roots: Sequence[Path]) -> bool:
    return any(path == str(r) or path.startswith(str(r).rstrip("/") + "/") for r in roots)


class Indexer:
    """Adds, updates and removes documents of the index at ``settings.index_path``."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        progress: ProgressCallback | None = None,
        lock_timeout: float = 5.0,
    ) -> None:
        self.settings = settings
        self.root = settings.index_path
        self.model = model_key(settings.embed_model)
        self.progress = progress or (lambda event: None)
        self.lock_timeout = lock_timeout
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        """Loaded on first need: a no-op re-index never pays for the model."""
        if self._embedder is None:
            self._embedder = Embedder(
                self.settings.embed_model, threads=self.settings.embed_threads
            )
        return self._embedder

    def _writer(self, *, fresh: bool = False) -> IndexWriter:
        manifest = None if fresh else read_manifest(self.root)
        if manifest is not None:
            # Another model's index is refused before any model is loaded; the dimension of
            # one built by ours is known without loading it (the writer checks both again).
            check_embedder(manifest, self.model)
        if self._embedder is not None or manifest is None:
            dim = self.embedder.dim
        else:
            dim = int(manifest["dim"])
        return IndexWriter(
            self.root,
            model=self.model,
            dim=dim,
            hnsw_threshold=self.settings.hnsw_threshold,
            lock_timeout=self.lock_timeout,
            fresh=fresh,
            threads=self.settings.embed_threads,
            # Used only for a new or rebuilt index (the embedder is loaded then).
            sparse_id=self._wanted_sparse() if manifest is None else None,
            sparse_scope=self._wanted_scope(),
        )

    def _wanted_sparse(self) -> str | None:
        return self.embedder.sparse_id if self.settings.sparse_terms != "off" else None

    def _wanted_scope(self) -> Scope:
        return "all" if self.settings.sparse_terms == "all" else "cross-lingual"

    # -- public operations ---------------------------------------------------------------------

    def add(self, paths: Sequence[Path | str]) -> IndexReport:
        roots = check_paths([Path(p) for p in paths])
        with self._writer() as writer:
            for root in roots:
                writer.add_root(str(root))
            return self._sync(writer, roots, commit_seconds=self.settings.index_commit_seconds)

    def rebuild(self, paths: Sequence[Path | str] | None = None) -> IndexReport:
        """Re-index everything from scratch with the configured model, committed once."""
        with self._writer(fresh=True) as writer:
            known = [Path(p) for p in writer.previous_roots()]
            wanted = [Path(p) for p in paths] if paths else known or list(self.settings.documents)
            roots = [absolute(p) for p in wanted if p.exists()]
            if not roots:
                raise DataError("nothing to rebuild from: run `assistant index add PATH`")
            for root in roots:
                writer.add_root(str(root))
            report = self._sync(writer, roots, commit_seconds=float("inf"))
            report.skipped += [(str(p), "no longer exists") for p in wanted if not p.exists()]
            return report

    def remove(self, paths: Sequence[Path | str]) -> IndexReport:
        targets = [absolute(p) for p in paths]
        start = time.monotonic()
        report = IndexReport(index=str(self.root))
        if not IndexStore.exists(self.root):
            raise DataError(f"no index at {self.root}: nothing to remove")
        with self._writer() as writer:
            for root in writer.roots():
                if _under(root, targets):
                    writer.remove_root(root)
            for path in sorted(writer.documents()):
                if _under(path, targets):
                    writer.remove_document(path)
                    report.removed.append(path)
            report.commits += writer.commit()
            report.chunks_total = writer.count
        report.seconds = time.monotonic() - start
        return report

    def watch(
        self,
        paths: Sequence[Path | str],
        *,
        stop: threading.Event,
        interval: float = 1.0,
        on_report: Callable[[IndexReport], None] | None = None,
    ) -> None:
        """Re-sync ``paths`` every ``interval`` seconds until ``stop`` is set."""
        while not stop.is_set():
            report = self.add(paths)
            if on_report is not None and report.changed:
                on_report(report)
            stop.wait(interval)

    # -- the sync loop -------------------------------------------------------------------------

    def _sync(
        self, writer: IndexWriter, roots: list[Path], *, commit_seconds: float
    ) -> IndexReport:
        start = time.monotonic()
        report = IndexReport(index=str(self.root))
        self.progress(ProgressEvent("scan"))
        found = scan(roots)
        report.skipped.extend(found.skipped)
        known = writer.documents()
        seen: set[str] = set()
        pending: list[tuple[DocumentRow, list[Chunk], bool]] = []
        last_commit = time.monotonic()
        total = len(found.files)
        for done, path in enumerate(found.files, start=1):
            key = str(path)
            seen.add(key)
            self._sync_file(writer, path, root_of(path, roots), known.get(key), pending, report)
            chunks_pending = sum(len(c) for _, c, _ in pending)
            commit_due = time.monotonic() - last_commit >= commit_seconds
            if chunks_pending >= EMBED_BATCH_CHUNKS or (commit_due and pending):
                self._flush(writer, pending, report)
            if commit_due and writer.dirty:
                self.progress(ProgressEvent("commit", done, total, report.chunks_added))
                report.commits += writer.commit()
                last_commit = time.monotonic()
            self.progress(ProgressEvent("index", done, total, report.chunks_added, key))
        self._flush(writer, pending, report)
        for gone in sorted(set(known) - seen):
            if _under(gone, roots):
                writer.remove_document(gone)
                report.removed.append(gone)
        report.commits += writer.commit()
        report.chunks_total = writer.count
        report.seconds = time.monotonic() - start
        self.progress(ProgressEvent("done", total, total, report.chunks_added))
        return report

    def _sync_file(
        self,
        writer: IndexWriter,
        path: Path,
        root: str,
        old: DocumentRow | None,
        pending: list[tuple[DocumentRow, list[Chunk], bool]],
        report: IndexReport,
    ) -> None:
        try:
            st = path.stat()
            if old and old.size == st.st_size and old.mtime_ns == st.st_mtime_ns:
                report.unchanged += 1
                return
            data = read_bytes(path, max_bytes=int(self.settings.max_file_mb * 1024 * 1024))
            digest = hashlib.sha256(data).hexdigest()
            row = DocumentRow(str(path), root, digest, st.st_size, st.st_mtime_ns, "", 0)
            if old and old.sha256 == digest:
                writer.touch_document(row)
                report.unchanged += 1
                return
            doc = parse_document(path, data)
        except (LoadError, OSError) as exc:
            reason = exc.reason if isinstance(exc, LoadError) else f"unreadable: {exc}"
            report.skipped.append((str(path), reason))
            if old:  # it was indexed before; its stale chunks must go
                writer.remove_document(str(path))
                report.removed.append(str(path))
            return
        chunks = chunk_document(
            doc,
            self.embedder,
            max_tokens=min(self.settings.chunk_tokens, self.embedder.max_tokens),
            overlap=self.settings.chunk_overlap,
        )
        if not chunks:
            report.skipped.append((str(path), "no text"))
        pending.append((DocumentRow(**{**row.__dict__, "kind": doc.kind}), chunks, old is not None))

    def _flush(
        self,
        writer: IndexWriter,
        pending: list[tuple[DocumentRow, list[Chunk], bool]],
        report: IndexReport,
    ) -> None:
        """Embed the pending documents' chunks in one call (the model batches across files)."""
        if not pending:
            return
        texts = [c.embed_text for _, chunks, _ in pending for c in chunks]
        vectors = self.embedder.encode(texts)
        sparse = None
        if writer.sparse_id is not None:
            if self.embedder.sparse_id != writer.sparse_id:
                raise IndexStoreError(
                    f"the index keeps sparse vectors {writer.sparse_id!r}; the embedder makes "
                    f"{self.embedder.sparse_id or 'none'}: run `assistant index rebuild`"
                )
            sparse = self._sparse_vectors(writer.sparse_scope, texts)
        offset = 0
        for row, chunks, existed in pending:
            end = offset + len(chunks)
            writer.put_document(
                row, chunks, vectors[offset:end], None if sparse is None else sparse[offset:end]
            )
            offset = end
            (report.updated if existed else report.added).append(row.path)
            report.chunks_added += len(chunks)
        pending.clear()

    def _sparse_vectors(self, scope: Scope, texts: list[str]) -> list[SparseVector | None]:
        """One entry per text: its sparse vector, or None outside the index's scope (the
        sparse head is a second pass of the model, so out-of-scope texts skip it)."""
        wanted = [i for i, text in enumerate(texts) if chunk_in_scope(scope, text)]
        made = self.embedder.sparse([texts[i] for i in wanted])
        out: list[SparseVector | None] = [None] * len(texts)
        for i, vector in zip(wanted, made, strict=True):
            out[i] = vector
        return out


def root_of(path: Path, roots: list[Path]) -> str:
    for root in roots:
        if _under(str(path), [root]):
            return str(root)
    return str(path)


def ensure_index(
    settings: Settings,
    progress: ProgressCallback | None = None,
    *,
    embedder: Embedder | None = None,
) -> bool:
    """Build the index from ``settings.documents`` if there is none yet; True if it built.
    ``embedder``: an already loaded embedding model to build with (else one is loaded)."""
    if IndexStore.exists(settings.index_path):
        return False
    documents = [p for p in settings.documents if Path(p).exists()]
    if not documents:
        return False
    Indexer(settings, embedder=embedder, progress=progress).add(documents)
    return True
