"""The lean GPT-2 forward (core.lean_gpt2) against HF's forward and CTranslate2 fp32, one
process, one torch thread, configurations alternating within every repeat.

Models: a GPT-2-small-shaped one (random weights, built by ``benchmarks/generate.py``'s
builder) and the bundled course model. Per model: decode tok/s for ``--new-tokens`` after a
``--prompt-tokens`` prompt with "top-5 on" (log_softmax + topk(5) per step, as the engine
does; CTranslate2 decodes without it), and the first-token time of a ``--prefill-tokens``
prompt. ``hf`` is ``core.runner.HFRunner`` (the engine's HF path, preallocated cache),
``lean_torch`` the lean forward on torch's kernels only, ``lean`` with ``core.row_kernels``
(one-row steps on OpenBLAS / oneDNN, prompts on oneDNN). Ratios are medians of per-repeat
ratios (same load). "kernels" times the pieces on GPT-2 small's real weights (CPU time,
medians): what each trick buys.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lean_forward.py --json
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lean_forward.py --tiny --json   # smoke run
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.core import row_kernels
from assistant.core.lean_gpt2 import LeanRunner
from assistant.core.models import BUNDLED_MODEL_DIR, configure_threads
from assistant.core.runner import HFRunner, Runner
from benchmarks.generate import FULL, TINY, build_model, ct2_generators, machine_info, run_ct2


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


Stamp = tuple[float, float]


def now() -> Stamp:
    return time.perf_counter(), time.process_time()


def seeded_prompt(vocab_size: int, n: int, seed: int) -> list[int]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(1, vocab_size, (n,), generator=generator).tolist()


def top5_step(logits: torch.Tensor) -> int:
    """What the engine does with each step's logits when top-5 probabilities are on."""
    logprobs = torch.log_softmax(logits, dim=-1)
    logprobs.topk(5)
    return int(logits.argmax())


def decode(runner: Runner, prompt: list[int], new_tokens: int) -> dict[str, Any]:
    """Greedy, top-5 on: rates over the steps after the first token (as generate.py)."""
    with torch.inference_mode():
        cache = runner.new_cache(len(prompt) + new_tokens)
        started = now()
        token = top5_step(runner.forward(torch.tensor([prompt]), cache))
        first = now()
        tokens = [token]
        for _ in range(new_tokens - 1):
            token = top5_step(runner.forward(torch.tensor([[token]]), cache))
            tokens.append(token)
        done = now()
    steps = new_tokens - 1
    return {
        "tok_s": steps / (done[0] - first[0]),
        "cpu_tok_s": steps / (done[1] - first[1]),
        "first_token_ms": 1000 * (first[0] - started[0]),
        "tokens": tokens,
    }


def prefill(runner: Runner, prompt: list[int]) -> float:
    """ms from a fresh cache to the first token's top-5 (the prompt's whole forward)."""
    with torch.inference_mode():
        cache = runner.new_cache(len(prompt) + 1)
        started = time.perf_counter()
        top5_step(runner.forward(torch.tensor([prompt]), cache))
        return 1000 * (time.perf_counter() - started)


def median(values: list[float], digits: int = 2) -> float:
    return round(statistics.median(values), digits)


def paired(a: list[float], b: list[float]) -> float:
    return round(statistics.median(x / y for x, y in zip(a, b, strict=True)), 3)


def bench_model(
    label: str, model_dir: Path, work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    runners: dict[str, Runner] = {
        "hf": HFRunner(model),
        "lean_torch": LeanRunner(model, kernels="torch"),
        "lean": LeanRunner(model),
    }
    ct2 = None
    ct2_note = "skipped"
    if not args.skip_ct2:
        try:  # the fp32 generator only (ct2_generators yields fp32 first)
            ct2 = next(iter(ct2_generators(model_dir, work / f"ct2-{label}", 1)))[1]
            ct2_note = "ok"
        except Exception as exc:  # report and measure what works
            ct2_note = f"CTranslate2 unavailable: {type(exc).__name__}: {exc}"
            log(ct2_note)
    vocab = int(model.config.vocab_size)
    prompt = seeded_prompt(vocab, args.prompt_tokens, seed=1)
    long_prompt = seeded_prompt(vocab, args.prefill_tokens, seed=2)
    prompt_tokens: list[str] = list(tokenizer.convert_ids_to_tokens(prompt))
    long_tokens: list[str] = list(tokenizer.convert_ids_to_tokens(long_prompt))

    decoders: dict[str, Callable[[], dict[str, Any]]] = {
        name: functools.partial(decode, runner, prompt, args.new_tokens)
        for name, runner in runners.items()
    }
    prefills: dict[str, Callable[[], float]] = {
        name: functools.partial(prefill, runner, long_prompt) for name, runner in runners.items()
    }
    if ct2 is not None:

        def ct2_decode() -> dict[str, Any]:
            run = run_ct2(ct2, prompt_tokens, args.new_tokens)
            return {
                "tok_s": run.decode_tokens_per_s,
                "cpu_tok_s": run.decode_tokens_per_cpu_s,
                "first_token_ms": 1000 * run.first_token_s,
                "tokens": run.tokens,
            }

        decoders["ct2_fp32"] = ct2_decode
        prefills["ct2_fp32"] = lambda: 1000 * run_ct2(ct2, long_tokens, 1).first_token_s

    for name in decoders:  # warm-up: allocations, kernels, caches
        decoders[name]()
        prefills[name]()
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in decoders}
    prefill_ms: dict[str, list[float]] = {name: [] for name in prefills}
    for repeat in range(args.repeats):
        for name, run in decoders.items():
            runs[name].append(run())
            log(f"{label} {repeat + 1}/{args.repeats} {name}: {runs[name][-1]['tok_s']:.1f} tok/s")
        for name, run_prefill in prefills.items():
            prefill_ms[name].append(run_prefill())
    speed = {name: [r["tok_s"] for r in v] for name, v in runs.items()}
    cpu = {name: [r["cpu_tok_s"] for r in v] for name, v in runs.items()}
    report: dict[str, Any] = {"ct2_note": ct2_note, "parameters": model.num_parameters()}
    for name in runs:
        report[f"{name}_tok_s"] = median(speed[name])
        report[f"{name}_cpu_tok_s"] = median(cpu[name])
    report["prefill_ms"] = {name: median(v, 1) for name, v in prefill_ms.items()}
    ratios: dict[str, float] = {
        "lean/hf": paired(speed["lean"], speed["hf"]),
        "lean_torch/hf": paired(speed["lean_torch"], speed["hf"]),
        "lean/lean_torch": paired(speed["lean"], speed["lean_torch"]),
        "cpu lean/hf": paired(cpu["lean"], cpu["hf"]),
        "prefill lean/hf": paired(prefill_ms["lean"], prefill_ms["hf"]),
        "prefill lean/lean_torch": paired(prefill_ms["lean"], prefill_ms["lean_torch"]),
    }
    if ct2 is not None:
        ratios["lean/ct2_fp32"] = paired(speed["lean"], speed["ct2_fp32"])
        ratios["hf/ct2_fp32"] = paired(speed["hf"], speed["ct2_fp32"])
        ratios["cpu lean/ct2_fp32"] = paired(cpu["lean"], cpu["ct2_fp32"])
        ratios["prefill lean/ct2_fp32"] = paired(prefill_ms["lean"], prefill_ms["ct2_fp32"])
        report["lean/ct2_fp32"] = ratios["lean/ct2_fp32"]
        report["target lean >= 0.9x ct2_fp32"] = ratios["lean/ct2_fp32"] >= 0.9
    report["ratios"] = ratios
    report["runs_tok_s"] = {name: [round(x, 2) for x in v] for name, v in speed.items()}
    hf_tokens = runs["hf"][-1]["tokens"]
    report["lean_tokens_equal_hf"] = runs["lean"][-1]["tokens"] == hf_tokens
    report["lean_torch_tokens_equal_hf"] = runs["lean_torch"][-1]["tokens"] == hf_tokens
    if not args.skip_kernels and label == "gpt2_small":
        report["kernels"] = kernel_timings(model, args.repeats)
    return report


# ---------------------------------------------------------------------- the pieces
def cpu_ms(call: Callable[[], Any], inner: int) -> float:
    call()
    started = time.process_time()
    for _ in range(inner):
        call()
    return 1000 * (time.process_time() - started) / inner


def kernel_timings(model: Any, repeats: int) -> dict[str, Any]:
    """One decode step's pieces on the model's own weights, alternating, CPU-time medians."""
    from transformers.pytorch_utils import Conv1D

    convs = [m for m in model.transformer.modules() if isinstance(m, Conv1D)]
    wte = model.transformer.wte.weight
    rows = {c.weight.shape[0]: torch.randn(1, c.weight.shape[0]) for c in convs}
    numpy_rows = [row_kernels.conv1d_row(c.weight, c.bias) for c in convs]
    onednn_head = row_kernels.linear_row(wte, None)
    head_row = torch.randn(1, wte.shape[1])
    d = wte.shape[1]
    heads = model.config.n_head
    cache = torch.randn(1, heads, 1024, d // heads)
    query = torch.randn(1, heads, 1, d // heads)
    hidden = torch.randn(1, 4 * d)
    hf = HFRunner(model)
    token = torch.tensor([[1]])

    def hf_step(context: Any) -> Callable[[], Any]:
        def step() -> None:
            hf_cache = hf.new_cache(80)
            with context():
                hf.forward(torch.ones((1, 64), dtype=torch.long), hf_cache)
                for _ in range(8):
                    hf.forward(token, hf_cache)

        return step

    def attention_manual(length: int) -> Callable[[], Any]:
        keys, values = cache[0, :, :length], cache[0, :, :length]

        def run() -> torch.Tensor:
            scores = torch.baddbmm(
                torch.empty(heads, 1, length), query[0], keys.transpose(1, 2), beta=0, alpha=0.125
            )
            return torch.bmm(torch.softmax(scores, -1), values)

        return run

    pieces: dict[str, tuple[Callable[[], Any], int]] = {
        "block_projections_addmm_ms": (
            lambda: [torch.addmm(c.bias, rows[c.weight.shape[0]], c.weight) for c in convs],
            3,
        ),
        "block_projections_F.linear_on_transposed_view_ms": (
            lambda: [F.linear(rows[c.weight.shape[0]], c.weight.t(), c.bias) for c in convs],
            3,
        ),
        "lm_head_F.linear_ms": (lambda: F.linear(head_row, wte), 3),
        "lm_head_mm_wte_t_ms": (lambda: torch.mm(head_row, wte.t()), 3),
        "read_blocks_sum_ms": (lambda: [c.weight.sum() for c in convs], 3),
        "read_wte_sum_ms": (lambda: wte.sum(), 3),
        "gelu_new_formula_3072_ms": (
            lambda: (
                0.5 * hidden * (1.0 + torch.tanh(0.7978845608 * (hidden + 0.044715 * hidden**3)))
            ),
            200,
        ),
        "F.gelu_tanh_3072_ms": (lambda: F.gelu(hidden, approximate="tanh"), 200),
        "hf_prefill64_8steps_no_grad_ms": (hf_step(torch.no_grad), 1),
        "hf_prefill64_8steps_inference_mode_ms": (hf_step(torch.inference_mode), 1),
    }
    for length in (128, 576):
        keys, values = cache[:, :, :length], cache[:, :, :length]
        sdpa = F.scaled_dot_product_attention
        pieces[f"attention_1_query_{length}_sdpa_ms"] = (
            functools.partial(sdpa, query, keys, values, scale=0.125),
            200,
        )
        pieces[f"attention_1_query_{length}_sdpa_3d_ms"] = (
            functools.partial(sdpa, query[0], keys[0], values[0], scale=0.125),
            200,
        )
        pieces[f"attention_1_query_{length}_manual_bmm_ms"] = (attention_manual(length), 200)
    if all(p is not None for p in numpy_rows):

        def numpy_blocks() -> None:
            with row_kernels.one_blas_thread():
                for c, product in zip(convs, numpy_rows, strict=True):
                    product(rows[c.weight.shape[0]])  # type: ignore[misc]

        pieces["block_projections_openblas_ms"] = (numpy_blocks, 3)
    if onednn_head is not None:
        pieces["lm_head_onednn_ms"] = (lambda: onednn_head(head_row), 3)
    times: dict[str, list[float]] = {name: [] for name in pieces}
    with torch.inference_mode():
        for _ in range(max(3, repeats)):
            for name, (call, inner) in pieces.items():
                times[name].append(cpu_ms(call, inner))
    out: dict[str, Any] = {name: median(v, 4) for name, v in times.items()}
    out["blocks_bytes"] = sum(4 * c.weight.numel() for c in convs)
    out["wte_bytes"] = 4 * wte.numel()
    return out


# ---------------------------------------------------------------------- the run
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--tiny", action="store_true", help="a tiny model instead: a smoke run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--prompt-tokens", type=int, default=64)
    parser.add_argument("--prefill-tokens", type=int, default=512)
    parser.add_argument("--skip-ct2", action="store_true")
    parser.add_argument("--skip-bundled", action="store_true")
    parser.add_argument("--skip-kernels", action="store_true")
    args = parser.parse_args(argv)
    if args.tiny:
        args.new_tokens, args.prompt_tokens, args.prefill_tokens = 8, 8, 32
        args.repeats = min(args.repeats, 1)
    if min(args.repeats, args.new_tokens - 1, args.prompt_tokens, args.prefill_tokens) < 1:
        parser.error("repeats, prompt and prefill tokens must be >= 1 and new tokens >= 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_threads(1)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    report: dict[str, Any] = {
        "machine": machine_info(),
        "settings": {
            "threads": torch.get_num_threads(),
            "repeats": args.repeats,
            "new_tokens": args.new_tokens,
            "prompt_tokens": args.prompt_tokens,
            "prefill_tokens": args.prefill_tokens,
            "decoding": "greedy; hf/lean with log_softmax + topk(5) per step, ct2 without",
        },
    }
    with tempfile.TemporaryDirectory(prefix="bench-lean-") as tmp:
        work = Path(tmp)
        shape = TINY if args.tiny else FULL
        small = build_model(work / "hf", shape)
        report["gpt2_small"] = bench_model("gpt2_small", small, work, args)
        if not args.skip_bundled:
            report["bundled"] = bench_model("bundled", BUNDLED_MODEL_DIR, work, args)
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for label in ("gpt2_small", "bundled"):
            if label in report:
                row = report[label]
                print(label, {k: v for k, v in row.items() if k.endswith("tok_s")})
                print("  prefill_ms", row["prefill_ms"], "ratios", row["ratios"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
