"""Indexing and search speed of the document index, measured side by side in one run.

    python benchmarks/index.py [--json] [--sizes 10000,100000] [--queries 200] [--repeats 1]

1. Throughput: ``Indexer.add(corpus/)`` with the default embedder (``--model`` another)
   against the bare model ``encode`` of exactly the chunks it produced (same threads, same batch
   size); the difference is the indexer's overhead (loading, chunking, SQLite, FAISS, commit).
2. No-op re-index of 1,000 unchanged files (stat only; the model is never loaded).
3. Search latency p50/p95 on synthetic indexes of each size (unit vectors, Zipf-distributed
   words), query embedding excluded: dense FAISS (flat, and HNSW above the threshold),
   lexical FTS5 BM25, sparse latent terms (synthetic: 128 of 16,384 features per chunk, 256
   per query, a heavy head like the real ones), and the whole fused ``Retriever.search``.
4. Peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

DIM = 384
VOCAB = 20_000


class HashEmbedder:
    """Deterministic stand-in for index-building where model speed is not what is measured."""

    name = "bench-hash"
    dim = DIM
    max_tokens = 254
    sparse_id = None

    def count(self, texts: list[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    def offsets(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in re.finditer(r"\S+", text)]

    def encode(
        self, texts: list[str], *, kind: str = "passage", batch_size: int = 32
    ) -> np.ndarray:
        rng = np.random.default_rng(len(texts))
        v = rng.normal(size=(len(texts), DIM)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


def _settings(index: Path, **extra: Any) -> Any:
    from assistant.settings import load_settings

    return load_settings({"index_dir": index, **extra})


def bench_throughput(tmp: Path, repeats: int, threads: int, model: str) -> dict[str, Any]:
    from assistant.rag import Embedder, Indexer, IndexStore
    from assistant.rag.chunking import Chunk

    embedder = Embedder(model, threads=threads)
    embedder.encode(["warm up the model"])
    encode = embedder.encode
    inside = [0.0]

    def timed_encode(
        texts: list[str], *, kind: str = "passage", batch_size: int = 32
    ) -> np.ndarray:
        start = time.perf_counter()
        try:
            return encode(texts, kind=kind, batch_size=batch_size)  # type: ignore[arg-type]
        finally:
            inside[0] += time.perf_counter() - start

    index_times, bare_times, embed_times = [], [], []
    texts: list[str] = []
    for r in range(repeats):  # interleaved, so drift in machine load hits both sides alike
        index = tmp / f"throughput-{r}"
        inside[0] = 0.0
        embedder.encode = timed_encode  # type: ignore[method-assign]
        start = time.perf_counter()
        settings = _settings(index, embed_threads=threads, embed_model=model)
        report = Indexer(settings, embedder=embedder).add([REPO / "corpus"])
        index_times.append(time.perf_counter() - start)
        embed_times.append(inside[0])
        embedder.encode = encode  # type: ignore[method-assign]
        store = IndexStore.open(index)
        rows = store.chunks(store.chunk_ids()).values()
        texts = [
            Chunk(r.text, r.start_line, r.end_line, r.page, r.heading).embed_text for r in rows
        ]
        start = time.perf_counter()
        embedder.encode(texts)  # bare model encode, same settings
        bare_times.append(time.perf_counter() - start)
        store.close()
    best = min(range(repeats), key=lambda i: index_times[i])
    t_index, t_bare = index_times[best], min(bare_times)
    return {
        "model": embedder.model_id,
        "documents": len(report.added),
        "chunks": len(texts),
        "mean_words_per_chunk": round(sum(len(t.split()) for t in texts) / len(texts), 1),
        "indexer_seconds": round(t_index, 3),
        "bare_encode_seconds": round(t_bare, 3),
        "indexer_chunks_per_s": round(len(texts) / t_index, 2),
        "bare_chunks_per_s": round(len(texts) / t_bare, 2),
        "overhead_pct": round(100 * (t_index / t_bare - 1), 1),
        # Time the indexer spent outside the encoder (loading, chunking, SQLite, FAISS, commit).
        "indexer_non_embedding_seconds": round(t_index - embed_times[best], 3),
        "non_embedding_pct_of_indexer": round(100 * (1 - embed_times[best] / t_index), 1),
    }


def bench_noop(tmp: Path, n_files: int = 1000, runs: int = 5) -> dict[str, Any]:
    from assistant.rag import Indexer

    folder = tmp / "noop-files"
    folder.mkdir()
    for i in range(n_files):
        (folder / f"note{i:04d}.md").write_text(f"# Note {i}\n\nSome text {i}.\n", encoding="utf-8")
    settings = _settings(tmp / "noop-index", embed_model="bench-hash")
    Indexer(settings, embedder=HashEmbedder()).add([folder])  # type: ignore[arg-type]
    times = []
    for _ in range(runs):
        indexer = Indexer(settings)  # no embedder: a no-op must never load one
        start = time.perf_counter()
        report = indexer.add([folder])
        times.append(time.perf_counter() - start)
        assert report.unchanged == n_files and not report.changed
    return {"files": n_files, "seconds_p50": round(statistics.median(times), 4)}


SPARSE_ID = "bench-sparse"
SPARSE_DIM = 16384
SPARSE_PER_CHUNK = 128  # as the default embedder stores them (a question keeps 256)


def _sparse_vectors(rng: np.random.Generator, count: int, k: int) -> list[Any]:
    """``count`` sparse vectors of ``k`` distinct features, drawn (Gumbel top-k) with
    p(feature of rank r) ∝ (r + 5)^-1.1: with k = 256 about 65-70 features then occur in over
    half the chunks, as the real latent terms of the corpus's 233 chunks did (65)."""
    logp = -1.1 * np.log(np.arange(SPARSE_DIM) + 5.0)
    keys = logp + rng.gumbel(size=(count, SPARSE_DIM))
    top = np.argpartition(-keys, k - 1, axis=1)[:, :k]
    weights = rng.uniform(0.1, 1.5, size=(count, k)).astype(np.float32)
    return [(top[i].astype(np.int32), weights[i]) for i in range(count)]


def _synthetic_index(path: Path, n: int, hnsw_threshold: int) -> float:
    from assistant.rag.chunking import Chunk
    from assistant.rag.store import DocumentRow
    from assistant.rag.store_writer import IndexWriter

    rng = np.random.default_rng(n)
    words = np.array([f"w{i}" for i in range(VOCAB)])
    # Zipf-like word frequencies, as in real text: a few very common terms, a long tail.
    probs = 1.0 / np.arange(1, VOCAB + 1)
    probs /= probs.sum()
    start = time.perf_counter()
    per_doc = 50
    with IndexWriter(
        path,
        model="bench-hash",
        dim=DIM,
        hnsw_threshold=hnsw_threshold,
        threads=os.cpu_count() or 1,
        sparse_id=SPARSE_ID,
    ) as writer:
        for d in range(0, n, per_doc):
            count = min(per_doc, n - d)
            tokens = rng.choice(words, size=(count, 100), p=probs)
            chunks = [Chunk(" ".join(t), i + 1, i + 1, None, "") for i, t in enumerate(tokens)]
            vecs = rng.normal(size=(count, DIM)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            doc = DocumentRow(f"/synthetic/doc{d}.md", "/synthetic", str(d), 1, 1, "markdown", 0)
            writer.put_document(doc, chunks, vecs, _sparse_vectors(rng, count, SPARSE_PER_CHUNK))
            if (d + count) % 10_000 == 0:
                writer.commit()  # like a long real run: commits along the way
        writer.commit()
    return time.perf_counter() - start


def _p(times: list[float], q: float) -> float:
    return round(1000 * float(np.percentile(times, q)), 3)


def bench_search(tmp: Path, n: int, queries: int, hnsw_threshold: int) -> dict[str, Any]:
    import faiss

    from assistant.rag import IndexStore, Retriever
    from assistant.rag.store import read_faiss, set_faiss_threads

    path = tmp / f"search-{n}"
    build_s = _synthetic_index(path, n, hnsw_threshold)
    store = IndexStore.open(path, threads=1)
    set_faiss_threads(1)
    rss_open = _rss_mb()
    rng = np.random.default_rng(0)
    qvecs = rng.normal(size=(queries, DIM)).astype(np.float32)
    qvecs /= np.linalg.norm(qvecs, axis=1, keepdims=True)
    probs = 1.0 / np.arange(1, VOCAB + 1)
    probs /= probs.sum()
    qtexts = [" ".join(f"w{i}" for i in rng.choice(VOCAB, size=6, p=probs)) for _ in range(queries)]

    def timed(fn: Any) -> list[float]:
        out = []
        for i in range(queries):
            start = time.perf_counter()
            fn(i)
            out.append(time.perf_counter() - start)
        return out

    result: dict[str, Any] = {
        "chunks": n,
        "vector_index": store.kind,
        "build_seconds": round(build_s, 1),
        "rss_after_open_mb": rss_open,
    }
    dense = timed(lambda i: store.search_dense(qvecs[i], 50))
    result["dense_ms_p50"], result["dense_ms_p95"] = _p(dense, 50), _p(dense, 95)
    if store.kind == "hnsw":  # the exact index too, for comparison
        flat = read_faiss(path / store.manifest["flat"])
        exact = timed(lambda i: flat.search(qvecs[i : i + 1], 50))
        result["flat_ms_p50"] = _p(exact, 50)
        _, truth = flat.search(qvecs, 10)
        _, approx = store._index.search(qvecs, 10)
        # Isotropic random vectors are the worst case for any graph index: recall against the
        # exact top-10 of a random query.
        result["hnsw_recall_at_10_random_queries"] = round(
            float(np.mean([len(set(a) & set(t)) / 10 for a, t in zip(approx, truth, strict=True)])),
            3,
        )
        # Closer to retrieval: a query near one chunk (cosine about 0.75, as a paraphrase); is
        # that chunk in the approximate top-10, and in the exact one?
        ids = faiss.vector_to_array(flat.id_map)
        sources = ids[rng.choice(len(ids), size=queries, replace=False)]
        near = np.stack([flat.reconstruct(int(i)) for i in sources])
        near += rng.normal(scale=0.045, size=near.shape).astype(np.float32)
        near /= np.linalg.norm(near, axis=1, keepdims=True)
        _, approx_near = store._index.search(near, 10)
        _, exact_near = flat.search(near, 10)
        found = [s in a for s, a in zip(sources, approx_near, strict=True)]
        exact = [s in a for s, a in zip(sources, exact_near, strict=True)]
        result["hnsw_source_found_at_10"] = round(float(np.mean(found)), 3)
        result["flat_source_found_at_10"] = round(float(np.mean(exact)), 3)
    lexical = timed(lambda i: store.search_lexical(qtexts[i], 50))
    result["lexical_ms_p50"], result["lexical_ms_p95"] = _p(lexical, 50), _p(lexical, 95)
    qsparse = _sparse_vectors(rng, queries, 256)
    start = time.perf_counter()
    store.search_sparse(qsparse[0], 50)  # the first one builds the postings
    result["sparse_first_search_s"] = round(time.perf_counter() - start, 3)
    result["rss_after_sparse_postings_mb"] = _rss_mb()
    sparse = timed(lambda i: store.search_sparse(qsparse[i], 50))
    result["sparse_ms_p50"], result["sparse_ms_p95"] = _p(sparse, 50), _p(sparse, 95)

    class _Precomputed:  # query embedding excluded: hand the retriever ready vectors
        current = qvecs[0]
        current_sparse = qsparse[0]
        sparse_id = SPARSE_ID
        model_id = "bench-hash"

        def encode(self, texts: list[str], *, kind: str = "query") -> np.ndarray:
            return self.current[None, :]

        def sparse(self, texts: list[str], *, kind: str = "query") -> list[Any]:
            return [self.current_sparse]

    pre = _Precomputed()
    retriever = Retriever(_settings(path, embed_model="bench-hash"), store, pre)  # type: ignore[arg-type]

    def fused(i: int) -> None:  # dense, BM25 and sparse lists (a new query each time)
        pre.current, pre.current_sparse = qvecs[i], qsparse[i]
        retriever.search(f"{qtexts[i]} q{i}", k=5)

    full = timed(fused)
    result["fused_ms_p50"], result["fused_ms_p95"] = _p(full, 50), _p(full, 95)
    store.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--sizes", default="10000,100000", help="synthetic index sizes")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=2, help="throughput repeats (min taken)")
    parser.add_argument("--threads", type=int, default=1, help="embedder threads")
    parser.add_argument("--model", default=None, help="embedding model (default: the default)")
    parser.add_argument("--hnsw-threshold", type=int, default=50_000)
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()

    import faiss
    import torch

    torch.set_num_threads(args.threads)
    out: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "torch": torch.__version__, "faiss": faiss.__version__},
        "embed_threads": args.threads,
    }
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ["ASSISTANT_HOME"] = str(tmp / "home")
        if not args.skip_throughput:
            from assistant.rag.embedder import DEFAULT_EMBED_MODEL

            model = args.model or DEFAULT_EMBED_MODEL
            out["throughput"] = bench_throughput(tmp, args.repeats, args.threads, model)
        out["noop_reindex"] = bench_noop(tmp)
        out["search"] = [
            bench_search(tmp, int(n), args.queries, args.hnsw_threshold)
            for n in args.sizes.split(",")
        ]
    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    if args.json:
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
