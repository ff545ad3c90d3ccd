"""Time to first token of a chat turn, by stage: routing, tools, retrieval, prompt, prefill.

A typical RAG turn runs through ``ChatSession`` exactly as the TUI drives it: the real index
of ``corpus/`` (all-MiniLM-L6-v2, built in a temporary folder unless ``--index-dir`` holds
one), our calculator and file lookup over stdio, and the generator — the bundled model if
present, else the configured model if it is in the local cache, else a GPT-2-small-shaped
model with random weights (benchmarks/generate.py's, ``--tiny`` for a smoke run). Loading
happens once, before timing; each question runs ``--repeats`` times and medians are
reported. Also measured: first-token time against prompt length (the prefill curve that
makes the budget, not decode speed, set the wait) and how many leading tokens consecutive
turns' prompts share (what reusing the KV cache of an unchanged prefix could save).

    .venv/bin/python benchmarks/chat.py --json

Wall-clock on a shared machine, torch threads 1: compare stages within one run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from assistant.chat.events import PromptBudget, TurnDone, TurnError  # noqa: E402
from assistant.chat.session import ChatSession  # noqa: E402
from assistant.core import DecodingSettings, Engine  # noqa: E402
from assistant.core.models import BUNDLED_MODEL_DIR, quiet_transformers  # noqa: E402
from assistant.errors import AssistantError  # noqa: E402
from assistant.settings import Settings, load_settings  # noqa: E402

QUESTIONS = [
    ("rag", "How does nucleus sampling differ from top-k sampling?"),
    ("rag", "Why does beam search need a length penalty?"),
    ("rag+tool", "What is 12% of 3,400? And what does the temperature do to the logits?"),
    ("rag", "What problem does LoRA solve when fine-tuning a large model?"),
]
STAGES = ("routing", "tools", "retrieval", "prompt", "prefill", "ttft", "total")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def choose_model(args: argparse.Namespace, settings: Settings, work: Path) -> tuple[str, str]:
    """(model path or name, how it was chosen)."""
    if (BUNDLED_MODEL_DIR / "config.json").is_file() and not args.random:
        return str(BUNDLED_MODEL_DIR), "bundled course model"
    if not args.random:
        try:
            Engine.load(settings.model, allow_fallback=False, threads=1)
            return settings.model, "configured model (local cache)"
        except AssistantError as exc:
            log(f"configured model {settings.model!r} unavailable: {exc}")
    from generate import FULL, TINY, build_model  # benchmarks/generate.py

    shape = TINY if args.tiny else FULL
    path = build_model(work / "random-gpt2", shape)
    what = "tiny random GPT-2" if args.tiny else "GPT-2-small-shaped random weights"
    return str(path), what + " (synthetic byte-pair tokenizer)"


def prefill_curve(engine: Engine, lengths: list[int], repeats: int) -> list[dict[str, Any]]:
    """First-token seconds for prompts of exactly n tokens (engine only, no session)."""
    from generate import prompt_text

    out = []
    settings = DecodingSettings(strategy="greedy", max_new_tokens=1, top_logprobs=5)
    for n in lengths:
        if n + 1 > engine.context_length:
            continue
        prompt = prompt_text(engine.tokenizer, n, seed=n)
        times = []
        for _ in range(repeats):
            stream = engine.stream(prompt, settings)
            for _step in stream:
                pass
            times.append(stream.first_token_seconds or float("nan"))
        out.append({"prompt_tokens": n, "first_token_s": statistics.median(times)})
    return out


def shared_prefix(engine: Engine, prompts: list[str]) -> list[dict[str, int]]:
    """Leading tokens each prompt shares with the previous turn's prompt."""
    out = []
    for before, after in itertools.pairwise(prompts):
        a, b = engine.encode(before), engine.encode(after)
        common = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), 0)
        out.append({"prompt_tokens": len(b), "shared_prefix_tokens": common})
    return out


def kv_note(shared: list[dict[str, int]]) -> str:
    if not shared:
        return "not measured"
    fraction = sum(s["shared_prefix_tokens"] for s in shared) / max(
        1, sum(s["prompt_tokens"] for s in shared)
    )
    return (
        f"not implemented: consecutive turns' prompts share {fraction:.1%} of their tokens as "
        "a common prefix (the passages, which change with every question, follow a one-line "
        "header), so reusing the cached prefix would save about that share of the prefill"
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    quiet_transformers()
    work = Path(tempfile.mkdtemp(prefix="chat-bench-"))
    index_dir = Path(args.index_dir) if args.index_dir else work / "index"
    base = {
        "torch_threads": 1,
        "documents": [ROOT / "corpus"],
        "index_dir": index_dir,
        "data_dir": work / "data",
        "log_dir": work / "logs",
        "config_dir": work / "config",
    }
    settings = load_settings(base)
    model, chosen = choose_model(args, settings, work)
    settings = load_settings(
        {
            **base,
            "model": model,
            "allow_fallback": False,
            "max_prompt_tokens": args.max_prompt_tokens,
        }
    )
    session = ChatSession(settings)
    began = time.perf_counter()
    log("loading model, index (building it if needed) and tool servers …")
    notices = [n.text for n in session.load()]
    load_s = time.perf_counter() - began
    if session.retriever() is None:  # a RAG benchmark without retrieval means nothing
        raise SystemExit("retrieval unavailable: " + "; ".join(notices))
    engine = session.loaded_engine()
    if engine is None:
        raise SystemExit("model unavailable: " + "; ".join(notices))
    decoding = DecodingSettings(
        strategy="greedy", max_new_tokens=args.max_new_tokens, top_logprobs=5
    )
    per_stage: dict[str, list[float]] = {s: [] for s in STAGES}
    turns, prompts = [], []
    for repeat in range(args.repeats + 1):  # the first pass warms caches; not reported
        for kind, question in QUESTIONS:
            session.new_conversation()
            timing: dict[str, float] = {}
            budget: PromptBudget | None = None
            for event in session.turn(question, decoding=decoding, k=args.k):
                if isinstance(event, PromptBudget):
                    budget = event
                elif isinstance(event, TurnDone):
                    timing = event.timing
                elif isinstance(event, TurnError):
                    raise SystemExit(f"turn failed: {event.stage}: {event.message}")
            if repeat == 0:
                if budget is not None:
                    prompts.append(budget.prompt)
                continue
            for stage in STAGES:
                per_stage[stage].append(timing.get(stage, 0.0))
            if repeat == 1 and budget is not None:
                turns.append(
                    {
                        "kind": kind,
                        "question": question,
                        "prompt_tokens": budget.prompt_tokens,
                        "passages_included": sum(
                            p.included for p in budget.parts if p.kind == "passage"
                        ),
                        "dropped_parts": len(budget.dropped),
                        "timing_s": {s: round(timing.get(s, 0.0), 4) for s in STAGES},
                    }
                )
    curve = prefill_curve(engine, [64, 128, 256, 512, 768, 896], args.repeats)
    result: dict[str, Any] = {
        "benchmark": "chat time to first token by stage",
        "model": {"path": model, "chosen": chosen, "context_length": engine.context_length},
        "torch_threads": 1,
        "decoding": decoding.to_dict(),
        "k": args.k,
        "max_prompt_tokens": args.max_prompt_tokens,
        "repeats": args.repeats,
        "load_s": round(load_s, 3),
        "notices": notices,
        "median_s": {s: round(statistics.median(v), 4) for s, v in per_stage.items() if v},
        "turns": turns,
        "prefill_curve": curve,
        "shared_prefix_between_turns": shared_prefix(engine, prompts),
        "kv_prefix_reuse": kv_note(shared_prefix(engine, prompts)),
    }
    session.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--tiny", action="store_true", help="tiny random model: a smoke run")
    parser.add_argument("--random", action="store_true", help="skip bundled/configured models")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument(
        "--max-prompt-tokens", type=int, default=0, help="cap the prompt (0 = fill the context)"
    )
    parser.add_argument("--index-dir", help="an existing index of corpus/ (default: build one)")
    args = parser.parse_args(argv)
    result = run(args)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for stage, seconds in result["median_s"].items():
            print(f"{stage:<10} {seconds * 1000:9.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
