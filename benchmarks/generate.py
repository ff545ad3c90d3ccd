"""Decode speed of the engine against HF ``generate`` and CTranslate2, on one process.

A GPT-2-small-shaped model (GPT2Config() defaults, 124M parameters, random weights from
``torch.manual_seed(0)``) is saved to a temporary directory with a synthetic byte-level BPE
tokenizer of the full 50257-token vocabulary, converted to CTranslate2, and decoded greedily
by every configuration in turn (A B C D E, A B C D E, ...) so that background load hits
them alike; medians are reported, and ratios are medians of per-repeat ratios. Also
measured: memory read bandwidth (probed in every repeat) and the bandwidth limit (weight
bytes read per token ÷ bandwidth), engine threads 1 vs 2, and the probability error of
``--quantize int8`` (mean KL divergence per step vs fp32, teacher-forced).

    .venv/bin/python benchmarks/generate.py --json          # the full run
    .venv/bin/python benchmarks/generate.py --tiny --json   # a seconds-long smoke run

The default (3 repeats) takes ~3.5 min on the 2-core machine when it is quiet and 6–9 min
at a load average of 5; ``--repeats 1 --skip-threads`` about a third of that. Timings are
wall-clock (and CPU time) on a shared machine: compare ratios within one run, not runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch

# Runnable as a script from anywhere: the project root goes on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.core import DecodingSettings, Engine
from assistant.core.models import configure_threads, default_threads

EOS = "<|endoftext|>"
# Words for prompts: any text works, it only has to encode to the requested token count.
WORD_TEXT = (
    "the model reads every weight once per token so decoding speed is bounded by memory "
    "bandwidth attention keys values cache layer norm softmax probability sampling greedy "
    "nucleus transformer embedding vocabulary course assistant student teacher question"
)


@dataclass(frozen=True)
class Shape:
    """Model and run sizes; ``FULL`` is GPT-2 small, ``TINY`` is for the smoke test."""

    vocab_size: int
    n_positions: int
    n_embd: int
    n_layer: int
    n_head: int
    new_tokens: int
    prompt_lengths: tuple[int, ...]
    repeats: int
    kl_tokens: int
    bandwidth_bytes: int


FULL = Shape(50257, 1024, 768, 12, 12, 128, (64, 512), 3, 256, 1 << 30)
TINY = Shape(512, 128, 64, 2, 2, 8, (8, 16), 1, 32, 16 << 20)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- model and tokenizer
def build_tokenizer(vocab_size: int) -> Any:
    """A byte-level BPE of exactly ``vocab_size`` ids: the 256 byte symbols, then merges of
    byte pairs, then the end-of-text token. Every id decodes, so random-weight generations
    detokenize like real ones."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import GPT2Tokenizer

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {symbol: index for index, symbol in enumerate(alphabet)}
    merges: list[tuple[str, str]] = []
    for left in alphabet:
        for right in alphabet:
            if len(vocab) >= vocab_size - 1:
                break
            vocab[left + right] = len(vocab)
            merges.append((left, right))
    vocab[EOS] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    return GPT2Tokenizer(tokenizer_object=backend, bos_token=EOS, eos_token=EOS, unk_token=EOS)


def build_model(out_dir: Path, shape: Shape) -> Path:
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = build_tokenizer(shape.vocab_size)
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=shape.vocab_size,
        n_positions=shape.n_positions,
        n_embd=shape.n_embd,
        n_layer=shape.n_layer,
        n_head=shape.n_head,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    GPT2LMHeadModel(config).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def prompt_text(tokenizer: Any, n_tokens: int, seed: int) -> str:
    """Seeded word salad that encodes to exactly ``n_tokens`` tokens."""
    import random

    rng = random.Random(seed)
    words = WORD_TEXT.split()
    text = ""
    while len(tokenizer.encode(text)) < n_tokens + 8:
        text += ("" if not text else " ") + rng.choice(words)
    low, high = 0, len(text)  # the shortest prefix with ≥ n_tokens tokens
    while low < high:
        mid = (low + high) // 2
        if len(tokenizer.encode(text[:mid])) >= n_tokens:
            high = mid
        else:
            low = mid + 1
    for end in range(low, len(text) + 1):
        if len(tokenizer.encode(text[:end])) == n_tokens:
            return text[:end]
    raise RuntimeError(f"no prefix encodes to {n_tokens} tokens")


# ---------------------------------------------------------------------- timed runs
@dataclass
class Run:
    first_token_s: float  # prompt in → first new token out (prefill + one step)
    decode_tokens_per_s: float  # the tokens after the first, per wall-clock second
    decode_tokens_per_cpu_s: float  # the same per CPU second of this process (all threads)
    tokens: list[int]


Stamp = tuple[float, float]  # (wall clock, process CPU time)


def _now() -> Stamp:
    """Wall clock and CPU time: on a shared machine the CPU-time rate is the steadier one
    (time spent waiting for a core does not count; memory contention still does)."""
    return time.perf_counter(), time.process_time()


def _run_from_times(started: Stamp, times: list[Stamp], tokens: list[int]) -> Run:
    if len(times) < 2:
        return Run(times[0][0] - started[0], math.nan, math.nan, tokens)
    (wall0, cpu0), (wall1, cpu1) = times[0], times[-1]
    steps = len(times) - 1
    return Run(times[0][0] - started[0], steps / (wall1 - wall0), steps / (cpu1 - cpu0), tokens)


def run_engine(engine: Engine, prompt: str, new_tokens: int) -> Run:
    settings = DecodingSettings(strategy="greedy", max_new_tokens=new_tokens, top_logprobs=5)
    times: list[Stamp] = []
    tokens: list[int] = []
    started = _now()
    for step in engine.stream(prompt, settings):
        times.append(_now())
        tokens.append(step.token_id)
    return _run_from_times(started, times, tokens)


class _TimingStreamer:
    """HF streamer that only records when each new token arrives (the first put is the
    prompt)."""

    def __init__(self) -> None:
        self.times: list[Stamp] = []
        self.tokens: list[int] = []
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self.times.append(_now())
        self.tokens.extend(int(t) for t in value.reshape(-1).tolist())

    def end(self) -> None:
        pass


def run_hf(model: Any, prompt_ids: list[int], new_tokens: int, pad_id: int) -> Run:
    ids = torch.tensor([prompt_ids])
    streamer = _TimingStreamer()
    started = _now()
    with torch.inference_mode():
        model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            do_sample=False,
            max_new_tokens=new_tokens,
            pad_token_id=pad_id,
            streamer=streamer,
        )
    return _run_from_times(started, streamer.times, streamer.tokens)


def run_ct2(generator: Any, prompt_tokens: list[str], new_tokens: int) -> Run:
    times: list[Stamp] = []
    tokens: list[int] = []
    started = _now()
    for step in generator.generate_tokens(prompt_tokens, max_length=new_tokens, sampling_topk=1):
        times.append(_now())
        tokens.append(step.token_id)
        if len(tokens) == new_tokens:
            break
    return _run_from_times(started, times, tokens)


def summarize(runs: list[Run]) -> dict[str, Any]:
    return {
        "tokens_per_s": round(statistics.median(r.decode_tokens_per_s for r in runs), 2),
        "first_token_ms": round(1000 * statistics.median(r.first_token_s for r in runs), 1),
        "cpu_tokens_per_s": round(statistics.median(r.decode_tokens_per_cpu_s for r in runs), 2),
        "runs_tokens_per_s": [round(r.decode_tokens_per_s, 2) for r in runs],
        "runs_cpu_tokens_per_s": [round(r.decode_tokens_per_cpu_s, 2) for r in runs],
        "runs_first_token_ms": [round(1000 * r.first_token_s, 1) for r in runs],
        "new_tokens": len(runs[-1].tokens),
    }


# ---------------------------------------------------------------------- bandwidth and bytes
class BandwidthProbe:
    """Read bandwidth (GB/s): summing a float32 array far larger than the caches, with the
    current threads. Probed once per repeat too, so each repeat's limit reflects the load
    the configurations of that repeat ran under."""

    def __init__(self, n_bytes: int) -> None:
        self.data = torch.ones(n_bytes // 4, dtype=torch.float32)
        self.data.sum()  # fault the pages in

    def rates(self, passes: int) -> list[float]:
        rates = []
        for _ in range(passes):
            started = time.perf_counter()
            self.data.sum()
            rates.append(4 * self.data.numel() / (time.perf_counter() - started) / 1e9)
        return rates


def weight_bytes_per_token(model: Any) -> dict[str, int]:
    """Bytes of weights one decode step reads: every block parameter and the final norm once,
    the (tied) token embedding once as the LM head matrix, one row of each embedding lookup.
    int8 counts block matrices and the head at one byte, biases and norms at four."""
    wte = model.transformer.wte.weight
    d = wte.shape[1]
    matrices = other = 0
    for name, param in model.transformer.named_parameters():
        if name.startswith(("wte.", "wpe.")):
            continue
        if name.startswith("h.") and param.dim() == 2:
            matrices += param.numel()
        else:
            other += param.numel()
    rows = 2 * d  # the token's embedding row and its position row, in fp32 for both
    return {
        "fp32": 4 * (matrices + other + wte.numel() + rows),
        "int8": matrices + wte.numel() + 4 * (other + rows),
    }


# ---------------------------------------------------------------------- probability error
def int8_kl(fp32: Engine, int8: Engine, ids: list[int]) -> dict[str, float]:
    """Teacher-forced over ``ids``: mean (and max) KL(p_fp32 ‖ p_int8) per position, and how
    often the two agree on the most likely next token."""
    batch = torch.tensor([ids])
    with torch.inference_mode():
        ref = torch.log_softmax(fp32.model(input_ids=batch, use_cache=False).logits[0].float(), -1)
        low = torch.log_softmax(int8.model(input_ids=batch, use_cache=False).logits[0].float(), -1)
    kl = (ref.exp() * (ref - low)).sum(-1)
    agree = (ref.argmax(-1) == low.argmax(-1)).float().mean()
    return {
        "positions": len(ids),
        "mean_kl_nats": float(kl.mean()),
        "max_kl_nats": float(kl.max()),
        "top1_agreement": round(float(agree), 4),
    }


# ---------------------------------------------------------------------- the run
def machine_info() -> dict[str, Any]:
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    return {
        "cpu": platform.processor() or platform.machine(),
        "logical_cpus": os.cpu_count(),
        "avx2": "avx2" in flags,
        "avx512f": "avx512f" in flags,
        "avx512_vnni": "avx512_vnni" in flags,
        "load_average_start": [round(x, 2) for x in load],
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    shape = TINY if args.tiny else FULL
    new_tokens = args.new_tokens or shape.new_tokens
    repeats = args.repeats or shape.repeats
    prompt_lengths = tuple(args.prompt_lengths or shape.prompt_lengths)
    if max(prompt_lengths) + new_tokens > shape.n_positions:
        raise SystemExit(
            f"prompt {max(prompt_lengths)} + {new_tokens} new tokens exceeds the model's "
            f"context of {shape.n_positions} tokens"
        )
    threads = configure_threads(args.threads)
    report: dict[str, Any] = {
        "machine": machine_info(),
        "model": {"shape": "tiny" if args.tiny else "gpt2-small (GPT2Config defaults)"},
        "settings": {
            "new_tokens": new_tokens,
            "repeats": repeats,
            "prompt_lengths": list(prompt_lengths),
            "threads": threads,
            "default_threads": default_threads(),
            "decoding": "greedy; engine with top_logprobs=5, HF generate without scores",
        },
    }
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()

    with tempfile.TemporaryDirectory(prefix="bench-gpt2-") as tmp:
        model_dir = build_model(Path(tmp) / "hf", shape)
        log(f"model saved to {model_dir}")
        engines = {
            "engine_fp32": Engine.load(str(model_dir), allow_fallback=False, threads=threads),
            "engine_int8": Engine.load(
                str(model_dir), allow_fallback=False, quantize="int8", threads=threads
            ),
        }
        fp32 = engines["engine_fp32"]
        report["model"]["parameters"] = sum(p.numel() for p in fp32.model.parameters())
        hf_model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
        hf_model.eval()
        tokenizer = fp32.tokenizer
        pad_id = int(tokenizer.eos_token_id)

        runners: dict[str, Callable[[str, list[int]], Run]] = {
            "engine_fp32": lambda text, ids: run_engine(fp32, text, new_tokens),
            "engine_int8": lambda text, ids: run_engine(engines["engine_int8"], text, new_tokens),
            "hf_generate": lambda text, ids: run_hf(hf_model, ids, new_tokens, pad_id),
        }
        ct2_note = None
        if not args.skip_ct2:
            try:
                for name, generator in ct2_generators(model_dir, Path(tmp) / "ct2", threads):
                    runners[name] = _ct2_runner(generator, tokenizer, new_tokens)
            except Exception as exc:  # report and measure what works
                ct2_note = f"CTranslate2 unavailable: {type(exc).__name__}: {exc}"
                log(ct2_note)
        report["ct2_note"] = ct2_note or ("skipped" if args.skip_ct2 else "ok")

        prompts = {n: prompt_text(tokenizer, n, seed=n) for n in prompt_lengths}
        prompt_ids = {n: fp32.encode(text) for n, text in prompts.items()}
        warm = min(prompt_lengths)
        for name, runner in runners.items():  # warm-up: allocations, kernels, caches
            log(f"warm-up {name}")
            runner(prompts[warm], prompt_ids[warm])

        probe = BandwidthProbe(shape.bandwidth_bytes)
        probes: dict[int, list[float]] = {n: [] for n in prompts}  # best GB/s per repeat
        runs: dict[int, dict[str, list[Run]]] = {n: {k: [] for k in runners} for n in prompts}
        for repeat in range(repeats):
            for n in prompt_lengths:
                probes[n].append(max(probe.rates(3)))
                for name, runner in runners.items():
                    run = runner(prompts[n], prompt_ids[n])
                    runs[n][name].append(run)
                    log(
                        f"repeat {repeat + 1}/{repeats} prompt {n}: {name} "
                        f"{run.decode_tokens_per_s:.1f} tok/s, "
                        f"first {1000 * run.first_token_s:.0f} ms"
                    )
        results = {str(n): {k: summarize(v) for k, v in by.items()} for n, by in runs.items()}
        report["results"] = results
        report["engine_fp32_tokens_equal_hf"] = all(
            runs[n]["engine_fp32"][-1].tokens == runs[n]["hf_generate"][-1].tokens for n in runs
        )

        log("bandwidth")
        rates = probe.rates(7)
        del probe
        best = max(rates + [r for per_repeat in probes.values() for r in per_repeat])
        weights = weight_bytes_per_token(hf_model)
        limits = {k: round(best * 1e9 / v, 2) for k, v in weights.items()}
        report["bandwidth"] = {
            "best_gb_s": round(best, 2),
            "median_gb_s_after_runs": round(statistics.median(rates), 2),
            "per_repeat_best_gb_s": {str(n): [round(r, 2) for r in v] for n, v in probes.items()},
            "array_bytes": shape.bandwidth_bytes,
            "weight_bytes_per_token": weights,
            "limit_tokens_per_s": limits,
            "note": "limit = weight bytes per token / read bandwidth (best of all probes); "
            "KV-cache reads and activations are not counted",
        }

        if not args.skip_threads:
            report["threads"] = compare_threads(fp32, prompts[warm], new_tokens, repeats)
            configure_threads(threads)

        text = prompt_text(tokenizer, shape.kl_tokens, seed=12345)
        report["int8_kl"] = int8_kl(fp32, engines["engine_int8"], fp32.encode(text))
        report["int8_kl"]["note"] = "random weights: a trained model's error differs"

    report["ratios"] = ratios(runs, probes, weights, limits)
    report["ratio_method"] = (
        "median over repeats of the per-repeat ratio (configurations of one repeat ran back to "
        "back, so they share its load); the bandwidth-limit ratios use the read bandwidth "
        "probed just before that repeat, '(best bandwidth)' the best probe of the whole run"
    )
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return report


def ct2_generators(model_dir: Path, out_dir: Path, threads: int) -> Iterator[tuple[str, Any]]:
    """Convert the saved model once (fp32) and load it as fp32 and as int8 weights."""
    import ctranslate2
    from ctranslate2.converters import TransformersConverter

    TransformersConverter(str(model_dir)).convert(str(out_dir), quantization="float32")
    for name, compute_type in (("ct2_fp32", "float32"), ("ct2_int8", "int8")):
        yield (
            name,
            ctranslate2.Generator(
                str(out_dir), device="cpu", compute_type=compute_type, intra_threads=threads
            ),
        )


def _ct2_runner(generator: Any, tokenizer: Any, new_tokens: int) -> Callable[[str, list[int]], Run]:
    def runner(text: str, ids: list[int]) -> Run:
        return run_ct2(generator, tokenizer.convert_ids_to_tokens(ids), new_tokens)

    return runner


def compare_threads(engine: Engine, prompt: str, new_tokens: int, repeats: int) -> dict[str, Any]:
    """The engine (fp32) with 1 and 2 torch threads, alternating. At most 64 new tokens: under
    load a second thread can be 5× slower, and this part would dominate the run."""
    new_tokens = min(new_tokens, 64)
    runs: dict[int, list[Run]] = {1: [], 2: []}
    for _ in range(repeats):
        for count in runs:
            torch.set_num_threads(count)
            runs[count].append(run_engine(engine, prompt, new_tokens))
            log(f"threads {count}: {runs[count][-1].decode_tokens_per_s:.1f} tok/s")
    return {
        "prompt_tokens": len(engine.encode(prompt)),
        "new_tokens": new_tokens,
        **{f"threads_{k}": summarize(v) for k, v in runs.items()},
    }


def paired_ratio(numerators: list[float] | None, denominators: list[float] | None) -> float | None:
    if not numerators or not denominators:
        return None
    return round(statistics.median(a / b for a, b in zip(numerators, denominators, strict=True)), 3)


def ratios(
    runs: dict[int, dict[str, list[Run]]],
    probes: dict[int, list[float]],
    weights: dict[str, int],
    limits: dict[str, float],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for n, by in runs.items():
        speed = {k: [r.decode_tokens_per_s for r in v] for k, v in by.items()}
        limit = {k: [gb_s * 1e9 / b for gb_s in probes[n]] for k, b in weights.items()}
        engine_hf = paired_ratio(speed.get("engine_fp32"), speed.get("hf_generate"))
        engine_limit = paired_ratio(speed.get("engine_fp32"), limit["fp32"])
        int8_ct2 = paired_ratio(speed.get("engine_int8"), speed.get("ct2_int8"))
        fp32_median = statistics.median(speed["engine_fp32"])
        cpu_speed = {k: [r.decode_tokens_per_cpu_s for r in v] for k, v in by.items()}
        out[str(n)] = {
            "engine_fp32/hf_generate": engine_hf,
            "engine_fp32/bandwidth_limit_fp32": engine_limit,
            "engine_fp32/bandwidth_limit_fp32 (best bandwidth)": round(
                fp32_median / limits["fp32"], 3
            ),
            "engine_int8/bandwidth_limit_int8": paired_ratio(
                speed.get("engine_int8"), limit["int8"]
            ),
            "engine_int8/ct2_int8": int8_ct2,
            "engine_fp32/ct2_fp32": paired_ratio(speed.get("engine_fp32"), speed.get("ct2_fp32")),
            "cpu_time": {  # the same comparisons per CPU second (steadier under load)
                "engine_fp32/hf_generate": paired_ratio(
                    cpu_speed.get("engine_fp32"), cpu_speed.get("hf_generate")
                ),
                "engine_int8/ct2_int8": paired_ratio(
                    cpu_speed.get("engine_int8"), cpu_speed.get("ct2_int8")
                ),
                "engine_fp32/ct2_fp32": paired_ratio(
                    cpu_speed.get("engine_fp32"), cpu_speed.get("ct2_fp32")
                ),
                "engine_fp32/bandwidth_limit_fp32 (best bandwidth)": round(
                    statistics.median(cpu_speed["engine_fp32"]) / limits["fp32"], 3
                ),
            },
            "targets_met": {
                "engine_fp32 >= 1.0x hf_generate": None if engine_hf is None else engine_hf >= 1.0,
                "engine_fp32 >= 0.8x bandwidth limit": None
                if engine_limit is None
                else engine_limit >= 0.8,
                "engine_int8 >= 1.0x ct2_int8": None if int8_ct2 is None else int8_ct2 >= 1.0,
            },
        }
    return out


def print_table(report: dict[str, Any]) -> None:
    for n, by in report["results"].items():
        print(f"prompt {n} tokens, {report['settings']['new_tokens']} new tokens (medians)")
        for name, row in by.items():
            print(
                f"  {name:12s} {row['tokens_per_s']:8.2f} tok/s "
                f"({row['cpu_tokens_per_s']:8.2f} per CPU s)   "
                f"first {row['first_token_ms']:8.1f} ms"
            )
        for key, value in report["ratios"][n].items():
            if key != "targets_met":
                print(f"  {key}: {value}")
    bw = report["bandwidth"]
    print(f"bandwidth {bw['best_gb_s']} GB/s best; limit {bw['limit_tokens_per_s']} tok/s")
    if "threads" in report:
        t = report["threads"]
        print(
            f"threads 1: {t['threads_1']['tokens_per_s']} tok/s, "
            f"2: {t['threads_2']['tokens_per_s']} tok/s"
        )
    print(f"int8 mean KL per step: {report['int8_kl']['mean_kl_nats']:.3g} nats")


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be ≥ {minimum} (got {value})")
        return value

    return parse


def _lengths(text: str) -> list[int]:
    return [_count(1)(part) for part in text.split(",")]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--tiny", action="store_true", help="a tiny model: a smoke run")
    parser.add_argument("--new-tokens", type=_count(2), help="default 128 (tiny: 8)")
    parser.add_argument(
        "--repeats", type=_count(1), help="alternating rounds, medians over them; default 3"
    )
    parser.add_argument("--threads", type=_count(0), default=0, help="0: the engine's default")
    parser.add_argument(
        "--prompt-lengths", type=_lengths, help="comma-separated token counts, default 64,512"
    )
    parser.add_argument("--skip-ct2", action="store_true", help="leave CTranslate2 out")
    parser.add_argument("--skip-threads", action="store_true", help="no threads 1 vs 2 runs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = benchmark(args)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
