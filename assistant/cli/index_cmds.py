"""Index commands: add (optionally --watch), remove, list, stats, rebuild, search, eval."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from typing import Any

from assistant.cli.common import emit_json, notice
from assistant.cli.index_progress import printable, progress_reporter, summary_lines
from assistant.errors import UsageError
from assistant.settings import Settings


def _positive(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return number


def register(sub: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index", dest="index_dir", metavar="DIR", help="index directory")
    common.add_argument("--embed-model", help="sentence-transformers id or path")
    common.add_argument("--json", action="store_true", help="print one JSON document")

    index = sub.add_parser("index", help="build and search the document index")
    cmds = index.add_subparsers(dest="index_command", metavar="ACTION", required=True)

    add = cmds.add_parser("add", parents=[common], help="index files and folders (incremental)")
    add.add_argument("paths", nargs="+", metavar="PATH")
    add.add_argument("--watch", action="store_true", help="keep the index in step until Ctrl-C")
    add.add_argument("--interval", type=float, default=1.0, help="seconds between watch scans")
    add.set_defaults(func=cmd_add)

    remove = cmds.add_parser("remove", parents=[common], help="drop files or folders")
    remove.add_argument("paths", nargs="+", metavar="PATH")
    remove.set_defaults(func=cmd_remove)

    cmds.add_parser("list", parents=[common], help="indexed documents").set_defaults(func=cmd_list)
    cmds.add_parser("stats", parents=[common], help="index size and model").set_defaults(
        func=cmd_stats
    )

    rebuild = cmds.add_parser("rebuild", parents=[common], help="re-index everything")
    rebuild.add_argument("paths", nargs="*", metavar="PATH", help="default: the indexed roots")
    rebuild.set_defaults(func=cmd_rebuild)

    search = cmds.add_parser("search", parents=[common], help="find passages for a query")
    search.add_argument("query")
    search.add_argument("--k", type=_positive, default=5)
    search.add_argument("--mode", choices=("fused", "dense", "lexical", "sparse"), default="fused")
    search.add_argument("--threshold", type=float, help="minimum dense (cosine) score")
    search.set_defaults(func=cmd_search)

    evaluate = cmds.add_parser("eval", parents=[common], help="recall@k and MRR on questions")
    evaluate.add_argument("questions", type=Path, metavar="QUESTIONS.jsonl")
    evaluate.add_argument("--k", type=_positive, default=5)
    evaluate.set_defaults(func=cmd_eval)


def _quiet() -> None:
    """No "Loading weights" bars from transformers between our own progress lines."""
    from assistant.core.models import quiet_transformers

    quiet_transformers()


def _report_out(args: argparse.Namespace, report: Any) -> None:
    if args.json:
        emit_json(report.to_dict())
    else:
        for line in summary_lines(report):
            print(line)


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.rag import Indexer

    _quiet()

    with progress_reporter(quiet=args.json) as progress:
        indexer = Indexer(settings, progress=progress)
        report = indexer.add(args.paths)
    if not args.watch:
        _report_out(args, report)
        return 0
    if not args.json:
        for line in summary_lines(report):
            print(line)
        notice(f"watching {', '.join(args.paths)} (Ctrl-C to stop)")
    reports = [report.to_dict()]

    def changed(update: Any) -> None:
        reports.append(update.to_dict())
        if not args.json:
            print(summary_lines(update)[0], flush=True)

    indexer.progress = lambda event: None
    try:
        indexer.watch(args.paths, stop=threading.Event(), interval=args.interval, on_report=changed)
    except KeyboardInterrupt:
        notice("stopped watching")
    if args.json:
        emit_json({"reports": reports})
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.rag import Indexer

    report = Indexer(settings).remove(args.paths)
    if not report.removed and not args.json:
        notice("nothing in the index matched")
    _report_out(args, report)
    return 0


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.rag import Indexer

    _quiet()

    with progress_reporter(quiet=args.json) as progress:
        report = Indexer(settings, progress=progress).rebuild(args.paths or None)
    _report_out(args, report)
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.rag import IndexStore

    store = IndexStore.open(settings.index_path)
    docs = store.documents()
    if args.json:
        emit_json(
            [
                {
                    "path": d.path,
                    "kind": d.kind,
                    "chunks": d.n_chunks,
                    "bytes": d.size,
                    "sha256": d.sha256,
                }
                for d in docs
            ]
        )
        return 0
    for d in docs:
        print(f"{d.n_chunks:6d} chunks  {d.kind:8s}  {printable(d.path)}")
    print(f"{len(docs)} documents, {store.count} chunks")
    return 0


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.rag import IndexStore

    stats = IndexStore.open(settings.index_path).stats()
    if args.json:
        emit_json(stats)
    else:
        for key, value in stats.items():
            print(f"{key:>14}: {value}")
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.rag import Retriever

    _quiet()

    if not args.query.strip():
        raise UsageError("empty query")
    retriever = Retriever.open(settings)
    if args.mode == "sparse" and not retriever.sparse_usable():
        raise UsageError(
            "this index has no sparse latent terms in use: set sparse_terms to "
            '"cross-lingual" (the default) or "all" (the multilingual-e5-small-q4 embedder '
            "makes them) and run `assistant index rebuild`"
        )
    passages = retriever.search(args.query, k=args.k, mode=args.mode, threshold=args.threshold)
    if args.json:
        emit_json([p.to_dict() for p in passages])
        return 0
    if not passages:
        why = ""
        if args.mode == "sparse" and retriever.sparse_scope == "cross-lingual":
            why = (
                " (sparse terms are kept only for chunks not in English; "
                'sparse_terms = "all" and a rebuild keep them for every chunk)'
            )
        print(f"no passages found{why}")
    for rank, p in enumerate(passages, start=1):
        dense = "-" if p.dense_score is None else f"{p.dense_score:.3f}"
        lexical = "-" if p.lexical_score is None else f"{p.lexical_score:.2f}"
        terms = "" if p.sparse_score is None else f", terms {p.sparse_score:.2f}"
        print(
            f"{rank}. {printable(p.source)}  score {p.score:.4f} "
            f"(dense {dense}, bm25 {lexical}{terms})"
        )
        snippet = " ".join(p.text.split())
        print(f"   {printable(snippet[:300])}{'…' if len(snippet) > 300 else ''}")
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.rag import Retriever, evaluate, load_questions

    _quiet()

    questions = load_questions(args.questions)
    results = evaluate(Retriever.open(settings), questions, k=args.k)
    if args.json:
        emit_json(
            {
                "questions": len(questions),
                "k": args.k,
                "modes": {
                    mode: {
                        "recall@1": r.recall_at_1,
                        f"recall@{args.k}": r.recall_at_k,
                        "mrr": r.mrr,
                        "misses": r.misses,
                    }
                    for mode, r in results.items()
                },
            }
        )
        return 0
    print(f"{len(questions)} questions, k = {args.k}")
    print(f"{'mode':8s} {'recall@1':>9s} {f'recall@{args.k}':>9s} {'MRR':>6s}")
    for mode, r in results.items():
        print(f"{mode:8s} {r.recall_at_1:9.3f} {r.recall_at_k:9.3f} {r.mrr:6.3f}")
    for miss in results["fused"].misses:
        got = ", ".join(miss["got"]) or "nothing"
        print(f"  missed (fused): {printable(miss['question'])} → want {miss['source']}; got {got}")
    return 0
