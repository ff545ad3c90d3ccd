"""Okapi BM25 over an inverted index held in numpy arrays.

The postings of a generation are saved beside its FAISS file (``.npz``, numeric and unicode
arrays only, loaded with ``allow_pickle=False``). A query touches only the postings of its
terms and scores them in a few vectorised operations, so a query costs about a millisecond at
100k chunks, where SQLite FTS5 (tried first) needed hundreds because it ranks every match.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

K1 = 1.2
B = 0.75


@dataclass(frozen=True)
class Postings:
    """Terms (sorted) → slices of (chunk id, term frequency); plus every chunk's length."""

    vocab: np.ndarray  # unicode, sorted
    indptr: np.ndarray  # int64, len(vocab) + 1
    chunk_ids: np.ndarray  # int64, one per posting
    tfs: np.ndarray  # float32, one per posting
    doc_ids: np.ndarray  # int64, sorted ids of all chunks
    doc_lens: np.ndarray  # float32, aligned with doc_ids

    @classmethod
    def empty(cls) -> Postings:
        return cls(
            np.array([], dtype="<U1"),
            np.zeros(1, np.int64),
            np.array([], np.int64),
            np.array([], np.float32),
            np.array([], np.int64),
            np.array([], np.float32),
        )

    # -- persistence ---------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        with path.open("wb") as fh:
            np.savez(fh, **{f: getattr(self, f) for f in self.__dataclass_fields__})

    @classmethod
    def load(cls, path: Path) -> Postings:
        with np.load(path, allow_pickle=False) as data:
            return cls(**{f: data[f] for f in cls.__dataclass_fields__})

    # -- updates -------------------------------------------------------------------------------

    def updated(self, removed: Iterable[int], added: dict[int, list[str]]) -> Postings:
        """A new Postings without the ``removed`` chunks and with the ``added`` ones."""
        gone = np.fromiter(removed, np.int64)
        keep_post = ~np.isin(self.chunk_ids, gone)
        keep_doc = ~np.isin(self.doc_ids, gone)
        new_ids, new_terms, new_tfs = [], [], []
        for cid, tokens in added.items():
            for term, tf in Counter(tokens).items():
                new_ids.append(cid)
                new_terms.append(term)
                new_tfs.append(tf)
        added_terms = np.array(new_terms, dtype=str)
        # Merge vocabularies (small) instead of re-sorting every posting's term (large).
        vocab = np.union1d(self.vocab, added_terms) if new_terms else self.vocab
        old_index = np.repeat(np.searchsorted(vocab, self.vocab), np.diff(self.indptr))
        term_index = np.concatenate(
            [old_index[keep_post], np.searchsorted(vocab, added_terms).astype(np.int64)]
        )
        ids = np.concatenate([self.chunk_ids[keep_post], np.array(new_ids, np.int64)])
        tfs = np.concatenate([self.tfs[keep_post], np.array(new_tfs, np.float32)])
        order = np.argsort(term_index, kind="stable")
        indptr = np.zeros(len(vocab) + 1, np.int64)
        np.cumsum(np.bincount(term_index, minlength=len(vocab)), out=indptr[1:])
        doc_ids = np.concatenate([self.doc_ids[keep_doc], np.fromiter(added, np.int64)])
        doc_lens = np.concatenate(
            [self.doc_lens[keep_doc], np.array([len(t) for t in added.values()], np.float32)]
        )
        by_id = np.argsort(doc_ids, kind="stable")
        return Postings(vocab, indptr, ids[order], tfs[order], doc_ids[by_id], doc_lens[by_id])

    # -- search --------------------------------------------------------------------------------

    @cached_property
    def _rows(self) -> np.ndarray:
        """Each posting's position in ``doc_ids`` (computed once per loaded generation)."""
        return np.searchsorted(self.doc_ids, self.chunk_ids)

    @cached_property
    def _avgdl(self) -> float:
        return float(self.doc_lens.mean()) if len(self.doc_lens) else 1.0

    def search(self, terms: list[str], n: int) -> list[tuple[int, float]]:
        """The ``n`` best chunks for the query terms, with their BM25 scores (all > 0)."""
        total = len(self.doc_ids)
        if total == 0 or n <= 0 or not terms:
            return []
        query = np.unique(np.array(terms, dtype=str))
        pos = np.searchsorted(self.vocab, query)
        inside = pos < len(self.vocab)
        pos, query = pos[inside], query[inside]
        found = pos[self.vocab[pos] == query].tolist()
        if not found:
            return []
        avgdl = self._avgdl or 1.0
        rows_parts, weight_parts = [], []
        for p in found:
            start, end = int(self.indptr[p]), int(self.indptr[p + 1])
            df = end - start
            if df == 0:
                continue
            idf = np.log(1.0 + (total - df + 0.5) / (df + 0.5))
            rows = self._rows[start:end]
            tf = self.tfs[start:end]
            norm = tf + K1 * (1.0 - B + B * self.doc_lens[rows] / avgdl)
            rows_parts.append(rows)
            weight_parts.append(idf * tf * (K1 + 1.0) / norm)
        if not rows_parts:
            return []
        scores = np.bincount(
            np.concatenate(rows_parts), weights=np.concatenate(weight_parts), minlength=total
        )
        hits = np.flatnonzero(scores > 0)
        if len(hits) > n:
            hits = hits[np.argpartition(-scores[hits], n - 1)[:n]]
        best = hits[np.argsort(-scores[hits], kind="stable")]
        return [(int(self.doc_ids[r]), float(scores[r])) for r in best]
