"""Time to first token of a RAG turn, and what each of issue 13's parts buys, in one process.

For each model (the bundled course model and a GPT-2-small-shaped model with random weights,
benchmarks/generate.py's), a ~900-token RAG prompt goes through ``ChatSession`` exactly as
the chat drives it (retrieval over the real index of ``corpus/``, prompt building, the
engine), configurations alternating turn by turn, medians of ``--repeats``:

- ``baseline_ttft_ms``: the old path: Hugging Face's forward, one thread for everything;
- ``turn_ttft_ms.exact``: the lean forward, prefill on the free cores, fp32 throughout;
- ``turn_ttft_ms.fast``: the same with the prompt read through the int8 twin;
- ``regenerate_ttft_ms``, ``fork_ttft_ms``, ``compare_ttft_ms`` (per preset): the kept
  KV prefix of the conversation serving the next decode; ``compare_first_beams_ms``: until
  /compare's beam column first shows the running beams (beam search's tokens are final only
  at its end, which ``compare_ttft_ms.beam`` measures);
- ``decode_tok_s``: exact (lean), HF and CTranslate2 fp32 decoding, one thread, top-5 on;
- ``fast_mode_kl``: teacher-forced along the exact greedy answer, KL(exact ‖ fast) per step
  (mean, max) and top-1 agreement, for int8 prefill and int8 throughout;
- ``under_load``: the turn again while ``--load`` processes spin, auto threads against a
  fixed two and a fixed one.

    .venv/bin/python benchmarks/latency.py --json            # ~6 min on 2 quiet cores
    .venv/bin/python benchmarks/latency.py --tiny --json     # a smoke run

Wall-clock on a shared machine: compare within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from assistant.chat.events import PromptBudget, TokenGenerated, TurnDone, TurnError  # noqa: E402
from assistant.chat.session import ChatSession  # noqa: E402
from assistant.core import DecodingSettings, Engine  # noqa: E402
from assistant.core.decoding import PRESETS  # noqa: E402
from assistant.core.models import BUNDLED_MODEL_DIR, load_model, quiet_transformers  # noqa: E402
from assistant.core.thread_policy import ThreadPolicy  # noqa: E402
from assistant.settings import load_settings  # noqa: E402

QUESTIONS = [
    "How does nucleus sampling differ from top-k sampling?",
    "Why does beam search need a length penalty?",
    "What problem does LoRA solve when fine-tuning a large model?",
    "What does the temperature do to the logits?",
]
COMPARE_TOKENS = 8


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median_ms(values: list[float]) -> float | None:
    return round(statistics.median(values) * 1000, 1) if values else None


# ---------------------------------------------------------------------- a turn, timed
def run_turn(
    session: ChatSession, events: Iterator[Any], stages: dict[str, list[float]] | None = None
) -> tuple[float, PromptBudget | None]:
    """The turn's own ttft (turn start → first token, as the chat reports it); each stage's
    seconds are appended to ``stages``."""
    timing: dict[str, float] = {}
    budget = None
    for event in events:
        if isinstance(event, PromptBudget):
            budget = event
        elif isinstance(event, TurnDone):
            timing = event.timing
        elif isinstance(event, TurnError):
            raise SystemExit(f"turn failed: {event.stage}: {event.message}")
    for stage, seconds in timing.items():
        if stages is not None:
            stages.setdefault(stage, []).append(seconds)
    return timing["ttft"], budget


def first_continuation_seconds(events: Iterator[Any]) -> float:
    """A fork's wait: from the call to the first token after the swapped-in one."""
    started = time.perf_counter()
    seen, waited = 0, float("nan")
    for event in events:
        if isinstance(event, TokenGenerated):
            seen += 1
            if seen == 2:
                waited = time.perf_counter() - started
        elif isinstance(event, TurnError):
            raise SystemExit(f"fork failed: {event.stage}: {event.message}")
    return waited


def first_token_seconds(
    engine: Engine, prompt: str, settings: DecodingSettings, key: str
) -> tuple[float, float]:
    """Seconds to the first token, and (beam search) to the first view of its running beams
    with a token each, as /compare's beam column shows them (nan for the other presets)."""
    started = time.perf_counter()
    stream = engine.stream(prompt, settings, cache_key=key)
    waited = beams_seen = float("nan")

    def watch(beams: list[list[int]]) -> None:
        nonlocal beams_seen
        if beams_seen != beams_seen and beams and beams[0]:
            beams_seen = time.perf_counter() - started

    stream.beam_watch = watch
    for _ in stream:
        if waited != waited:
            waited = time.perf_counter() - started
    return waited, beams_seen


# ---------------------------------------------------------------------- parts
def turn_latency(
    sessions: dict[str, tuple[ChatSession, DecodingSettings]], repeats: int
) -> dict[str, Any]:
    """Each configuration's turn ttft, alternating configuration by configuration; then
    regenerate, fork and each /compare preset after an exact turn."""
    ttft: dict[str, list[float]] = {name: [] for name in sessions}
    stages: dict[str, dict[str, list[float]]] = {name: {} for name in sessions}
    reuse: dict[str, list[float]] = {"regenerate": [], "fork": []}
    compare: dict[str, list[float]] = {name: [] for name in PRESETS}
    beam_view: list[float] = []  # to the first running beams /compare shows
    prompt_tokens: list[int] = []
    for repeat in range(repeats + 1):  # the first pass warms caches and the int8 twin
        for question in QUESTIONS:
            for name, (session, decoding) in sessions.items():
                session.new_conversation()
                events = session.turn(question, decoding=decoding)
                seconds, budget = run_turn(session, events, stages[name] if repeat else None)
                if repeat:
                    ttft[name].append(seconds)
                    if name == "exact" and budget is not None:
                        prompt_tokens.append(budget.prompt_tokens)
            session, decoding = sessions["exact"]
            regenerated = session.regenerate(question, decoding=decoding)
            seconds, budget = run_turn(
                session, regenerated, stages.setdefault("regenerate", {}) if repeat else None
            )
            record = session.last_turn
            assert record is not None and budget is not None
            fork_at = min(3, len(record.steps) - 1)
            alternative = record.steps[fork_at].top[1].token_id
            fork = session.fork(
                budget.prompt, record.steps, fork_at, alternative, decoding=decoding
            )
            fork_s = first_continuation_seconds(fork)
            engine = session.loaded_engine()
            assert engine is not None
            per_preset = {}
            for preset_name, preset in PRESETS.items():
                limited = preset.replace(max_new_tokens=COMPARE_TOKENS, seed=0)
                per_preset[preset_name], beams_at = first_token_seconds(
                    engine, budget.prompt, limited, session.prefix_key
                )
                if repeat and beams_at == beams_at:
                    beam_view.append(beams_at)
            if repeat:
                reuse["regenerate"].append(seconds)
                reuse["fork"].append(fork_s)
                for preset_name, value in per_preset.items():
                    compare[preset_name].append(value)
            log(f"repeat {repeat}: {question[:40]}… done")
    exact_ms = median_ms(ttft["exact"]) or float("nan")
    out: dict[str, Any] = {
        "prompt_tokens_median": statistics.median(prompt_tokens) if prompt_tokens else None,
        "baseline_ttft_ms": median_ms(ttft["baseline"]),
        "turn_ttft_ms": {name: median_ms(v) for name, v in ttft.items() if name != "baseline"},
        "regenerate_ttft_ms": median_ms(reuse["regenerate"]),
        "fork_ttft_ms": median_ms(reuse["fork"]),
        "compare_ttft_ms": {name: median_ms(v) for name, v in compare.items()},
        "compare_first_beams_ms": median_ms(beam_view),
        "stages_ms": {
            name: {stage: median_ms(v) for stage, v in by_stage.items()}
            for name, by_stage in stages.items()
        },
    }
    baseline = out["baseline_ttft_ms"] or float("nan")
    out["ratios"] = {
        "exact/baseline": round(exact_ms / baseline, 3),
        "fast/baseline": round((out["turn_ttft_ms"]["fast"] or 0) / baseline, 3),
        "regenerate/exact": round((out["regenerate_ttft_ms"] or 0) / exact_ms, 3),
        "fork/exact": round((out["fork_ttft_ms"] or 0) / exact_ms, 3),
        "compare/exact": {
            name: round((ms or 0) / exact_ms, 3) for name, ms in out["compare_ttft_ms"].items()
        },
    }
    return out


def decode_speed(
    engines: dict[str, Engine], model_dir: Path, work: Path, repeats: int, new_tokens: int
) -> dict[str, Any]:
    """Decode tok/s (the tokens after the first), one thread, top-5 on, alternating."""
    from generate import ct2_generators, prompt_text, run_ct2, run_engine

    any_engine = next(iter(engines.values()))
    prompt = prompt_text(any_engine.tokenizer, 64, seed=1)
    runners: dict[str, Callable[[], float]] = {
        name: (lambda e=engine: run_engine(e, prompt, new_tokens).decode_tokens_per_s)
        for name, engine in engines.items()
    }
    note = "ok"
    try:
        ids = any_engine.encode(prompt)
        tokens = any_engine.tokenizer.convert_ids_to_tokens(ids)
        out_dir = work / f"ct2-{model_dir.name}"
        for name, generator in ct2_generators(model_dir, out_dir, threads=1):
            if name == "ct2_fp32":
                runners[name] = lambda g=generator: (
                    run_ct2(g, tokens, new_tokens).decode_tokens_per_s
                )
    except Exception as exc:  # CTranslate2 missing or unable to convert: say so
        note = f"CTranslate2 unavailable: {type(exc).__name__}: {exc}"
    speeds: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats + 1):
        for name, runner in runners.items():
            speeds[name].append(runner())
    out: dict[str, Any] = {
        name: round(statistics.median(v[1:]), 1) for name, v in speeds.items()
    }  # the first pass warms up
    if "ct2_fp32" in speeds:
        out["exact/ct2_fp32"] = round(
            statistics.median(
                a / b for a, b in zip(speeds["exact"][1:], speeds["ct2_fp32"][1:], strict=True)
            ),
            3,
        )
    out["exact/hf"] = round(
        statistics.median(
            a / b for a, b in zip(speeds["exact"][1:], speeds["hf"][1:], strict=True)
        ),
        3,
    )
    out["ct2_note"] = note
    out["new_tokens"] = new_tokens
    return out


@torch.inference_mode()
def fast_mode_kl(engine: Engine, prompts: list[str], new_tokens: int) -> dict[str, Any]:
    """Teacher-forced along each prompt's exact greedy answer: the fast paths' distributions
    against the exact one at every answer step."""
    exact = engine.runners.exact
    int8 = engine.runners.int8()
    out: dict[str, Any] = {}
    for mode, (prefill, decode) in {"fast-prefill": (int8, exact), "fast": (int8, int8)}.items():
        kls: list[float] = []
        agree = 0
        for prompt in prompts:
            settings = DecodingSettings(max_new_tokens=new_tokens, top_logprobs=0)
            answer = [s.token_id for s in engine.generate(prompt, settings).steps]
            ids = engine.fit_prompt(prompt, new_tokens)[0]
            ref_cache = exact.new_cache(len(ids) + new_tokens)
            low_cache = prefill.new_cache(len(ids) + new_tokens)
            ref = exact.forward(torch.tensor([ids]), ref_cache)
            low = prefill.forward(torch.tensor([ids]), low_cache)
            for token in answer:
                p, q = torch.log_softmax(ref, -1), torch.log_softmax(low, -1)
                kls.append(float((p.exp() * (p - q)).sum()))
                agree += int(int(p.argmax()) == int(q.argmax()))
                step = torch.tensor([[token]])
                ref = exact.forward(step, ref_cache)
                low = decode.forward(step, low_cache)
        out[mode] = {
            "steps": len(kls),
            "mean_kl_nats": round(statistics.fmean(kls), 6),
            "max_kl_nats": round(max(kls), 6),
            "top1_agreement": round(agree / len(kls), 4),
        }
    return out


def spinners(count: int) -> list[subprocess.Popen[bytes]]:
    code = "while True: pass"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(count)]


def under_load(
    loaded: Any, base: dict[str, Any], shared: dict[str, Any], load: int, repeats: int
) -> dict[str, Any]:
    """The exact turn while ``load`` other processes spin: auto threads against fixed."""
    policies = {
        "auto": ThreadPolicy(),
        "fixed_2": ThreadPolicy(fixed=2),
        "fixed_1": ThreadPolicy(fixed=1),
    }
    decoding = DecodingSettings(max_new_tokens=16, grounding="copy")
    sessions = {
        name: ChatSession(load_settings(base), engine=Engine(loaded, threads=policy), **shared)
        for name, policy in policies.items()
    }
    ttft: dict[str, list[float]] = {name: [] for name in sessions}
    chosen: dict[str, Any] = {}
    procs = spinners(load)
    try:
        time.sleep(1.0)
        for repeat in range(repeats + 1):
            for question in QUESTIONS[:2]:
                for name, session in sessions.items():
                    session.new_conversation()
                    seconds, _ = run_turn(session, session.turn(question, decoding=decoding))
                    if repeat:
                        ttft[name].append(seconds)
                    engine = session.loaded_engine()
                    assert engine is not None
                    chosen[name] = engine.thread_policy.choose().to_dict()
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    return {
        "spinning_processes": load,
        "turn_ttft_ms": {name: median_ms(v) for name, v in ttft.items()},
        "threads_chosen_last": chosen,
    }


# ---------------------------------------------------------------------- the run
def model_dirs(args: argparse.Namespace, work: Path) -> dict[str, Path]:
    from generate import FULL, TINY, build_model

    dirs = {"bundled": BUNDLED_MODEL_DIR}
    if not args.skip_gpt2_small:
        shape = TINY if args.tiny else FULL
        dirs["gpt2_small" if not args.tiny else "tiny_random"] = build_model(
            work / "random-gpt2", shape
        )
    return dirs


def run(args: argparse.Namespace) -> dict[str, Any]:
    quiet_transformers()
    work = Path(tempfile.mkdtemp(prefix="latency-bench-"))
    index_dir = Path(args.index_dir) if args.index_dir else work / "index"
    base: dict[str, Any] = {
        "documents": [ROOT / "corpus"],
        "index_dir": index_dir,
        "data_dir": work / "data",
        "log_dir": work / "logs",
        "config_dir": work / "config",
        "max_prompt_tokens": args.prompt_tokens,
    }
    log("opening (or building) the corpus index …")
    loader = ChatSession(load_settings({**base, "model": str(BUNDLED_MODEL_DIR)}))
    retriever = loader.retriever()
    if retriever is None:
        raise SystemExit("retrieval unavailable: a RAG benchmark without it means nothing")
    shared = {"retriever": retriever}
    report: dict[str, Any] = {
        "benchmark": "RAG turn time to first token (issue 13)",
        "cores": os.cpu_count(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "repeats": args.repeats,
        "k": 4,
    }
    opened: list[ChatSession] = []
    for label, model_dir in model_dirs(args, work).items():
        log(f"== {label}")
        loaded = load_model(str(model_dir), allow_fallback=False)
        baseline = Engine(loaded, threads=ThreadPolicy(fixed=1), runner="hf")
        exact = Engine(loaded)
        exact.runners.int8()  # built once, outside the timings
        grounded = DecodingSettings(max_new_tokens=args.new_tokens, grounding="copy")
        sessions = {
            name: (ChatSession(load_settings(base), engine=engine, **shared), decoding)
            for name, engine, decoding in (
                ("baseline", baseline, grounded),
                ("exact", exact, grounded),
                ("fast", exact, grounded.replace(precision="fast-prefill")),
            )
        }
        entry: dict[str, Any] = {
            "runner": exact.runners.exact.name,
            "context_length": exact.context_length,
        }
        entry.update(turn_latency(sessions, args.repeats))
        one_thread = ThreadPolicy(fixed=1)
        entry["decode_tok_s"] = decode_speed(
            {
                "exact": Engine(loaded, threads=one_thread),
                "hf": Engine(loaded, threads=one_thread, runner="hf"),
            },
            model_dir,
            work,
            args.repeats,
            args.decode_tokens,
        )
        prompts = [QUESTIONS[0] + " " + p.text for p in retriever.search(QUESTIONS[0], 4)]
        entry["fast_mode_kl"] = fast_mode_kl(exact, prompts, 32)
        if args.load and label == "bundled":
            entry["under_load"] = under_load(loaded, base, shared, args.load, args.repeats)
        report[label] = entry
        opened.extend(session for session, _ in sessions.values())
    report["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    for session in opened:  # they share the retriever: closed together, at the end
        session.close()
    loader.close()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--tiny", action="store_true", help="a tiny random model: smoke run")
    parser.add_argument("--skip-gpt2-small", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--new-tokens", type=int, default=24, help="answer tokens per turn")
    parser.add_argument("--decode-tokens", type=int, default=64)
    parser.add_argument("--prompt-tokens", type=int, default=900, help="the prompt budget")
    parser.add_argument("--load", type=int, default=1, help="spinning processes (0 = skip)")
    parser.add_argument("--index-dir", help="an existing index of corpus/ (default: build one)")
    args = parser.parse_args(argv)
    result = run(args)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
