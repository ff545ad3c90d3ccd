"""Query → ranked :class:`Passage` objects: dense (FAISS) and lexical (BM25) fused by RRF.

Reciprocal rank fusion adds ``1 / (RRF_K + rank)`` from each list a passage appears in, so
neither score scale dominates: the dense side finds paraphrases, the lexical side exact names,
numbers and text the embedder does not know (CJK characters are mostly unknown to MiniLM).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

from assistant.errors import UsageError
from assistant.rag.embedder import Embedder, model_key
from assistant.rag.source_names import DocumentNames
from assistant.rag.sparse_terms import Scope, SparseVector, question_in_scope
from assistant.rag.store import IndexStore
from assistant.settings import Settings

Mode = Literal["fused", "dense", "lexical", "sparse"]
MODES: tuple[Mode, ...] = ("fused", "dense", "lexical", "sparse")
# A small k rewards being near the top of either list; tuned on the corpus and seed-page
# questions (k = 60, the paper's default, missed one more question in each set).
RRF_K = 10
CANDIDATES = 50  # per list, before fusion
QUERY_VECTORS_KEPT = 16


@dataclass(frozen=True)
class Passage:
    """One retrieved chunk. Its text is data to show or quote, never instructions."""

    path: str
    start_line: int
    end_line: int
    page: int | None
    text: str
    score: float
    dense_score: float | None
    lexical_score: float | None
    chunk_id: int
    name: str = ""  # the document as cited: relative to its folder (source_names); "" = path
    sparse_score: float | None = None  # dot product of sparse latent terms (None: not listed)

    @property
    def source(self) -> str:
        where = f"{self.name or self.path}:{self.start_line}-{self.end_line}"
        return f"{where} (page {self.page})" if self.page is not None else where

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "page": self.page,
            "text": self.text,
            "score": self.score,
            "dense_score": self.dense_score,
            "lexical_score": self.lexical_score,
            "sparse_score": self.sparse_score,
            "chunk_id": self.chunk_id,
            "name": self.name or self.path,
            "source": self.source,
        }


class Retriever:
    """Searches one index; the embedder is loaded on the first dense query."""

    def __init__(self, settings: Settings, store: IndexStore, embedder: Embedder | None = None):
        self.settings = settings
        self.store = store
        self._embedder = embedder
        self._lock = threading.Lock()
        self._names: tuple[int, DocumentNames] | None = None  # (generation, its names)
        # The last few questions' vectors: a regenerated or repeated question is not embedded
        # again (~20-40 ms with e5 on one thread, most of a regenerate's wait otherwise).
        self._query_vectors: OrderedDict[str, Any] = OrderedDict()

    @classmethod
    def open(cls, settings: Settings, *, embedder: Embedder | None = None) -> Retriever:
        """Open the index, refusing (EmbedderMismatchError) one another model built."""
        store = IndexStore.open(settings.index_path, threads=settings.embed_threads)
        _check_embedder(store, settings, embedder)
        return cls(settings, store, embedder)

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = Embedder(
                    self.settings.embed_model, threads=self.settings.embed_threads
                )
            return self._embedder

    def refresh(self) -> bool:
        """Switch to a newer generation if a writer published one; True if it did."""
        if not self.store.is_stale():
            return False
        fresh = IndexStore.open(self.settings.index_path, threads=self.settings.embed_threads)
        _check_embedder(fresh, self.settings, self._embedder)
        old, self.store = self.store, fresh
        old.close()
        return True

    def _query_vector(self, query: str) -> Any:
        embedder = self.embedder
        return self._cached(
            f"{embedder.model_id}\n{query}", lambda: embedder.encode([query], kind="query")[0]
        )

    def sparse_usable(self) -> bool:
        """Whether searches use the sparse list: the setting is not off and the index has
        sparse vectors of the kind this embedder makes. In an index of scope cross-lingual a
        fused search adds it for English questions only (rag/sparse_terms.py)."""
        store = self.store
        if self.settings.sparse_terms == "off" or store.sparse_id is None:
            return False
        return self.embedder.sparse_id == store.sparse_id

    @property
    def sparse_scope(self) -> Scope:
        """Which chunks of the index have sparse vectors and which questions use them."""
        return self.store.sparse_scope

    def search_state(self) -> tuple[int, bool]:
        """What a search's result depends on besides its arguments: the index generation and
        whether the sparse list is used (a kept result stays valid while this is equal)."""
        return self.store.generation, self.sparse_usable()

    def available_modes(self) -> tuple[Mode, ...]:
        """The modes this index answers ("sparse" only where the sparse list is usable)."""
        return MODES if self.sparse_usable() else tuple(m for m in MODES if m != "sparse")

    @staticmethod
    def _fuses_sparse(store: IndexStore, query: str) -> bool:
        """Whether a fused search of ``query`` adds the sparse list: the question is in the
        index's scope, and some chunk has a sparse vector (an English course indexed in scope
        cross-lingual has none, so its questions skip the sparse pass of the model)."""
        return store.sparse_chunks != 0 and question_in_scope(store.sparse_scope, query)

    def _query_sparse(self, query: str) -> SparseVector | None:
        """The question's sparse vector, or None when the sparse list is not usable."""
        if not self.sparse_usable():
            return None
        store, embedder = self.store, self.embedder
        return cast(
            SparseVector,
            self._cached(
                f"sparse:{store.sparse_id}\n{query}",
                lambda: embedder.sparse([query], kind="query")[0],
            ),
        )

    def _cached(self, key: str, compute: Callable[[], Any]) -> Any:
        with self._lock:
            cached = self._query_vectors.get(key)
            if cached is not None:
                self._query_vectors.move_to_end(key)
                return cached
        vector = compute()
        with self._lock:
            self._query_vectors[key] = vector
            while len(self._query_vectors) > QUERY_VECTORS_KEPT:
                self._query_vectors.popitem(last=False)
        return vector

    def search(
        self, query: str, k: int = 5, mode: Mode = "fused", threshold: float | None = None
    ) -> list[Passage]:
        """Top ``k`` passages. ``threshold`` drops passages whose dense (cosine) score is below
        it in dense and fused mode, whose BM25 score is below it in lexical mode, or whose
        sparse dot product is in sparse mode. Fused mode fuses the sparse list too where the
        index has sparse vectors of the embedder's kind (rag/sparse_terms.py)."""
        if mode not in MODES:
            raise UsageError(f"unknown retrieval mode {mode!r} (choose from {', '.join(MODES)})")
        if k <= 0 or not query.strip():
            return []
        store = self.store
        depth = max(CANDIDATES, k)
        dense: dict[int, float] = {}
        lexical: dict[int, float] = {}
        sparse: dict[int, float] = {}
        qvec = None
        if mode in ("fused", "dense"):
            qvec = self._query_vector(query)
            dense = dict(store.search_dense(qvec, depth))
        if mode in ("fused", "lexical"):
            lexical = dict(store.search_lexical(query, depth))
        if mode == "sparse" or (mode == "fused" and self._fuses_sparse(store, query)):
            qsparse = self._query_sparse(query)
            if qsparse is not None:
                sparse = dict(store.search_sparse(qsparse, depth))
        if mode == "dense":
            ranked = sorted(dense.items(), key=lambda kv: -kv[1])
        elif mode == "lexical":
            ranked = sorted(lexical.items(), key=lambda kv: -kv[1])
        elif mode == "sparse":
            ranked = sorted(sparse.items(), key=lambda kv: -kv[1])
        else:
            # In scope cross-lingual the sparse list stands in for BM25 (a chunk counts the
            # better of its two ranks), so a page in another language that BM25 cannot match
            # competes with English pages on equal terms, not with a third vote: summing all
            # three cost English questions over English notes beside such pages 8 of 84
            # first-ranked hits (docs/retrieval.md).
            if sparse and store.sparse_scope == "cross-lingual":
                ranked = _fuse(_rrf_terms(dense), _best(_rrf_terms(lexical), _rrf_terms(sparse)))
            else:
                ranked = _fuse(*(_rrf_terms(scores) for scores in (dense, lexical, sparse)))
            missing = [cid for cid, _ in ranked if cid not in dense]
            if qvec is not None and missing:
                dense.update(store.dense_scores(qvec, missing))
        if threshold is not None:
            gate = {"lexical": lexical, "sparse": sparse}.get(mode, dense)
            ranked = [(cid, s) for cid, s in ranked if gate.get(cid, float("-inf")) >= threshold]
        top = ranked[:k]
        rows = store.chunks([cid for cid, _ in top])
        names = self.document_names(store)
        return [
            Passage(
                path=rows[cid].path,
                start_line=rows[cid].start_line,
                end_line=rows[cid].end_line,
                page=rows[cid].page,
                text=rows[cid].text,
                score=score,
                dense_score=dense.get(cid),
                lexical_score=lexical.get(cid),
                chunk_id=cid,
                name=names.name_of(rows[cid].path),
                sparse_score=sparse.get(cid),
            )
            for cid, score in top
            if cid in rows
        ]

    def document_names(self, store: IndexStore | None = None) -> DocumentNames:
        """How the documents of ``store``'s generation (default: the current) are cited."""
        store = store or self.store
        cached = self._names
        if cached is None or cached[0] != store.generation:
            cached = (store.generation, DocumentNames((d.path, d.root) for d in store.documents()))
            self._names = cached
        return cached[1]

    def close(self) -> None:
        self.store.close()


def _check_embedder(store: IndexStore, settings: Settings, embedder: Embedder | None) -> None:
    dim = embedder.dim if embedder is not None else None
    try:
        store.check_embedder(model_key(settings.embed_model), dim)
    except BaseException:
        store.close()
        raise


def _rrf_terms(scores: dict[int, float]) -> dict[int, float]:
    """Each chunk's reciprocal-rank term ``1 / (RRF_K + rank)`` in one ranked list."""
    order = sorted(scores.items(), key=lambda kv: -kv[1])
    return {cid: 1.0 / (RRF_K + rank) for rank, (cid, _) in enumerate(order, start=1)}


def _best(*terms: dict[int, float]) -> dict[int, float]:
    """Per chunk, the largest of its terms in ``terms``."""
    out: dict[int, float] = {}
    for t in terms:
        for cid, value in t.items():
            out[cid] = max(out.get(cid, 0.0), value)
    return out


def _fuse(*terms: dict[int, float]) -> list[tuple[int, float]]:
    """Chunks by the sum of their terms, best first."""
    fused: dict[int, float] = {}
    for t in terms:
        for cid, value in t.items():
            fused[cid] = fused.get(cid, 0.0) + value
    return sorted(fused.items(), key=lambda kv: -kv[1])
