"""Answer rate, faithfulness and speed of grounded decoding, every grounding mode in one process.

    python benchmarks/answer_rate.py [MODEL_DIR] [--pipeline] [--json] [--threads 1]
        [--questions FILE --corpus DIR] [--modes off,copy,copy+cad] [--relevance overlap,...]

MODEL_DIR defaults to the bundled model; ``--gpt2-small`` builds a GPT-2-small-shaped model
(124M parameters, random weights, the synthetic tokenizer of ``benchmarks/generate.py``).

Gold mode (default): the prompt holds the question's gold passage (the paragraph of its source
file with the answer phrase). ``--pipeline``: the question goes through the real retriever and
prompt budget exactly as ``assistant ask`` does (a dry-run turn of ChatSession over an index of
``--corpus``, k=4), and the engine decodes that prompt with the passages it holds. Greedy,
``--max-new-tokens`` (48), cut at the template's stop strings, for each mode (and, for copy,
each relevance scorer). Reported per mode:

- answer_rate: answers containing the answer phrase (case-insensitive, whitespace collapsed);
- ceiling: questions whose answer phrase is in the prompt's passages;
- faithfulness: answers all of whose sentences occur verbatim (whitespace collapsed) in a
  passage the answer cites (copy modes: the passages its tokens were copied from; off: any
  passage in the prompt); empty answers are not faithful;
- tokens_per_s (decode, after the first token) and first_token_ms (from the call to
  ``Engine.stream``: prompt tokenising, the copy index with its relevance scores, prefill),
  medians over questions.

``--speed N`` adds a side-by-side decode-speed run: N prompts, modes off and copy interleaved,
a fixed 48 tokens each (no stop strings, no grounded stop), repeated 3 times; median ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def normalized(text: str) -> str:
    return " ".join(text.split())


def contains_phrase(text: str, phrase: str) -> bool:
    return phrase.lower() in normalized(text).lower()


def faithful(answer: str, passages: list[str]) -> bool:
    """Every sentence of ``answer`` occurs verbatim in one of ``passages``."""
    from assistant.core.sentences import split_sentences

    sentences = [normalized(answer[s.start : s.end]) for s in split_sentences(answer)]
    texts = [normalized(p) for p in passages]
    return bool(sentences) and all(any(s in t for t in texts) for s in sentences)


def cited_passages(steps: Any, prompt_passages: list[str]) -> list[str]:
    numbers = {s.provenance.passage for s in steps if s.provenance and s.provenance.copied}
    if not any(s.provenance for s in steps):  # ungrounded: any passage of the prompt
        return prompt_passages
    return [prompt_passages[n - 1] for n in sorted(numbers) if n and n <= len(prompt_passages)]


def gold_cases(questions: list[Any], corpus: Path) -> list[dict[str, Any]]:
    from assistant.chat.template import render_prompt
    from assistant.training.answer_rate import gold_passage

    cases = []
    for q in questions:
        passage = gold_passage(q, corpus)
        passages = [passage] if passage else []
        cases.append(
            {
                "question": q.question,
                "answer": q.answer,
                "prompt": render_prompt(q.question, passages),
                "without": render_prompt(q.question, []),
                "passages": [(p.source, p.text) for p in passages],
            }
        )
    return cases


def pipeline_cases(
    questions: list[Any], corpus: Path, model: str, max_new_tokens: int, home: Path
) -> tuple[list[dict[str, Any]], Any]:
    """Dry-run turns of a real ChatSession: retrieval and the prompt budget as ``ask``."""
    from assistant.chat.session import ChatSession
    from assistant.core.decoding import DecodingSettings
    from assistant.settings import load_settings

    os.environ["ASSISTANT_HOME"] = str(home)  # every user directory (the index) under home
    settings = load_settings({"model": model, "documents": [str(corpus)], "torch_threads": 1})
    session = ChatSession(settings)
    decoding = DecodingSettings(max_new_tokens=max_new_tokens, grounding="copy")
    cases = []
    for q in questions:
        for _ in session.turn(q.question, decoding=decoding, use_tools=False, dry_run=True):
            pass
        record = session.last_turn
        assert record is not None and record.budget is not None, "dry run failed"
        budget = record.budget
        cases.append(
            {
                "question": q.question,
                "answer": q.answer,
                "prompt": budget.prompt,
                "without": budget.prompt_without_passages,
                "passages": [(p.source, p.text) for p in budget.passages],
            }
        )
    return cases, session


def case_grounding(case: dict[str, Any], relevance: Any = None) -> Any:
    """The GroundingInput of one question: its passages and its prompt without them."""
    from assistant.core.grounding_input import GroundingInput, SourceText

    return GroundingInput(
        case["question"],
        tuple(SourceText(label, text) for label, text in case["passages"]),
        relevance=relevance,
        unconditional_prompt=case["without"],
    )


def run_mode(
    engine: Any, cases: list[dict[str, Any]], settings: Any, relevance: Any
) -> dict[str, Any]:
    from assistant.training.answer_rate import cut_at_stop

    outcomes, rates, firsts = [], [], []
    for case in cases:
        texts = [text for _, text in case["passages"]]
        grounding = case_grounding(case, relevance)
        began = time.perf_counter()
        stream = engine.stream(case["prompt"], settings, None, grounding)
        setup = time.perf_counter() - began  # tokenising the prompt, the copy index, relevance
        steps = list(stream)
        answer = cut_at_stop(stream.result().text).strip()
        if stream.first_token_seconds is not None:
            firsts.append((setup + stream.first_token_seconds) * 1000)
            decode_s = stream.seconds - stream.first_token_seconds
            if len(steps) > 1 and decode_s > 0:
                rates.append((len(steps) - 1) / decode_s)
        outcomes.append(
            {
                "question": case["question"],
                "want": case["answer"],
                "answer": answer,
                "correct": contains_phrase(answer, case["answer"]),
                "in_prompt": any(contains_phrase(t, case["answer"]) for t in texts),
                "faithful": faithful(answer, cited_passages(steps, texts)),
                "finish": stream.result().finish_reason,
                "tokens": len(steps),
            }
        )
    n = len(outcomes) or 1
    hits = sum(o["correct"] for o in outcomes)
    ceiling = sum(o["in_prompt"] for o in outcomes)
    return {
        "answer_rate": round(hits / n, 4),
        "answers_with_phrase": hits,
        "ceiling": ceiling,
        "rate_of_ceiling": round(hits / ceiling, 4) if ceiling else None,
        "faithfulness": round(sum(o["faithful"] for o in outcomes) / n, 4),
        "mean_tokens": round(sum(o["tokens"] for o in outcomes) / n, 1),
        "tokens_per_s": round(statistics.median(rates), 1) if rates else None,
        "first_token_ms": round(statistics.median(firsts), 1) if firsts else None,
        "outcomes": outcomes,
    }


def speed(engine: Any, cases: list[dict[str, Any]], n: int, repeats: int = 3) -> dict[str, Any]:
    """Decode tok/s of off vs copy on the same prompts, interleaved; fixed 48 tokens."""
    from assistant.core.decoding import DecodingSettings

    rates: dict[str, list[float]] = {"off": [], "copy": []}
    ratios = []
    for _ in range(repeats):
        for case in cases[:n]:
            grounding = case_grounding(case)
            pair = {}
            for mode in ("off", "copy"):
                settings = DecodingSettings(
                    max_new_tokens=48, grounding=mode, grounded_stop=False, top_logprobs=5
                )
                stream = engine.stream(case["prompt"], settings, None, grounding)
                steps = list(stream)
                assert stream.first_token_seconds is not None
                pair[mode] = (len(steps) - 1) / (stream.seconds - stream.first_token_seconds)
                rates[mode].append(pair[mode])
            ratios.append(pair["copy"] / pair["off"])
    return {
        "prompts": min(n, len(cases)),
        "repeats": repeats,
        "tokens_per_s": {m: round(statistics.median(r), 1) for m, r in rates.items()},
        "copy/off": round(statistics.median(ratios), 3),
        "target_met (copy >= 0.9x off)": statistics.median(ratios) >= 0.9,
    }


def gpt2_small_dir(out: Path) -> str:
    """A GPT-2-small-shaped model (random weights) from benchmarks/generate.py's builder."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import generate as gen  # benchmarks/generate.py

    return str(gen.build_model(out, gen.FULL))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", nargs="?", default=str(REPO / "assistant/resources/model"))
    parser.add_argument("--gpt2-small", action="store_true", help="GPT-2-small shape, random")
    parser.add_argument("--questions", default=str(REPO / "corpus/QUESTIONS.jsonl"))
    parser.add_argument("--corpus", default=str(REPO / "corpus"))
    parser.add_argument("--pipeline", action="store_true", help="retriever + budget as ask")
    parser.add_argument("--modes", default="off,copy,copy+cad")
    parser.add_argument("--relevance", default="overlap", help="copy modes: overlap,bm25,embedding")
    parser.add_argument("--strength", type=float, default=None, help="copy strength override")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--limit", type=int, default=0, help="first N questions only")
    parser.add_argument("--speed", type=int, default=0, help="prompts for the speed run")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--home", default="", help="keep the index here between runs")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--show", action="store_true", help="print every answer")
    args = parser.parse_args()

    import torch
    from transformers.utils import logging

    from assistant.chat.relevance import relevance_named
    from assistant.chat.template import STOP_STRINGS
    from assistant.core.decoding import DecodingSettings
    from assistant.core.engine import Engine
    from assistant.training.answer_rate import load_questions

    torch.set_num_threads(args.threads)
    logging.set_verbosity_error()
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="answer-rate-"))
    model = gpt2_small_dir(scratch / "gpt2-small") if args.gpt2_small else args.model_dir
    questions = load_questions(Path(args.questions))
    if args.limit:
        questions = questions[: args.limit]
    corpus = Path(args.corpus)
    session = None
    if args.pipeline:
        home = Path(args.home) if args.home else scratch / "home"
        cases, session = pipeline_cases(questions, corpus, model, args.max_new_tokens, home)
    else:
        cases = gold_cases(questions, corpus)
    engine = Engine.load(model, allow_fallback=False, threads=args.threads)
    embedder = None
    if {"embedding", "hybrid"} & set(args.relevance.split(",")):
        retriever = session.retriever() if session is not None else None
        if retriever is None:
            from assistant.rag.embedder import Embedder

            embedder = Embedder(threads=args.threads)
        else:
            embedder = retriever.embedder
    results: dict[str, Any] = {}
    for mode in args.modes.split(","):
        scorers = ["-"] if mode == "off" else args.relevance.split(",")
        for scorer in scorers:
            values: dict[str, Any] = {
                "strategy": "greedy",
                "max_new_tokens": args.max_new_tokens,
                "stop": STOP_STRINGS,
                "grounding": mode,
            }
            if args.strength is not None:
                values["copy_strength"] = args.strength
            settings = DecodingSettings.from_mapping(values)
            relevance = None if scorer == "-" else relevance_named(scorer, embedder)
            key = mode if scorer in ("-", "overlap") else f"{mode}/{scorer}"
            results[key] = run_mode(engine, cases, settings, relevance)
    report: dict[str, Any] = {
        "model": "gpt2-small-shaped (random weights)" if args.gpt2_small else model,
        "questions": args.questions,
        "mode": "pipeline" if args.pipeline else "gold passage",
        "n": len(cases),
        "results": results,
    }
    if args.speed:
        report["speed"] = speed(engine, cases, args.speed)
    report["seconds"] = round(time.monotonic() - started, 1)
    if session is not None:
        session.close()
    if args.json:
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    for key, r in results.items():
        if args.show:
            for o in r["outcomes"]:
                mark = "+" if o["correct"] else ("." if o["in_prompt"] else " ")
                print(f"{mark} [{key}] {o['question']}")
                print(f"    want {o['want']!r}\n    got  {o['answer']!r}")
        print(
            f"{key:<22} answers {r['answers_with_phrase']}/{len(cases)} "
            f"(ceiling {r['ceiling']}, {r['rate_of_ceiling']}) faithful {r['faithfulness']:.2f} "
            f"tokens {r['mean_tokens']} tok/s {r['tokens_per_s']} ttft {r['first_token_ms']} ms"
        )
    if "speed" in report:
        print("speed:", json.dumps(report["speed"]))
    print(f"{report['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
