import math
from pathlib import Path

import numpy as np
import pytest

from assistant.rag.bm25 import K1, B, Postings

DOCS = {
    3: ["beam", "search", "keeps", "beams"],
    8: ["greedy", "search", "picks", "the", "best", "token", "the"],
    9: ["sampling", "draws", "tokens"],
}


def _bm25(term: str, cid: int, docs: dict[int, list[str]]) -> float:
    n = len(docs)
    df = sum(term in d for d in docs.values())
    avgdl = sum(len(d) for d in docs.values()) / n
    tf = docs[cid].count(term)
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * len(docs[cid]) / avgdl))


def test_scores_follow_okapi_bm25() -> None:
    postings = Postings.empty().updated([], DOCS)
    results = dict(postings.search(["search", "the"], 5))
    assert set(results) == {3, 8}
    assert results[8] == pytest.approx(_bm25("search", 8, DOCS) + _bm25("the", 8, DOCS), rel=1e-5)
    assert results[3] == pytest.approx(_bm25("search", 3, DOCS), rel=1e-5)
    assert postings.search(["absent"], 5) == [] and postings.search([], 5) == []
    assert [cid for cid, _ in postings.search(["search", "the"], 1)] == [8]


def test_incremental_updates_equal_a_fresh_build(tmp_path: Path) -> None:
    step = Postings.empty().updated([], DOCS).updated([8], {12: ["the", "zebra"]})
    final = {3: DOCS[3], 9: DOCS[9], 12: ["the", "zebra"]}
    fresh = Postings.empty().updated([], final)
    for query in (["the"], ["search", "zebra"], ["tokens", "beam"]):
        assert step.search(query, 5) == pytest.approx(fresh.search(query, 5))
    step.save(tmp_path / "p.npz")
    loaded = Postings.load(tmp_path / "p.npz")
    np.testing.assert_array_equal(loaded.doc_ids, [3, 9, 12])
    assert loaded.search(["zebra"], 2) == pytest.approx(step.search(["zebra"], 2))
