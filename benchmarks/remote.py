"""The remote engine through a real llama.cpp server on loopback against the in-process
engine, on the same weights (the bundled model; the server serves an f32 GGUF of it).

Measured, interleaved per prompt (remote, local, remote, local, ...) so background load hits
both alike: greedy token equality on N prompts, the largest |Δ log p| of the chosen tokens
and their top-5 alternatives, decode tokens/s and first-token time of each, and the tokens/s
of step-by-step decoding (one max_tokens=1 request per token, the prompt re-sent each time
and served from llama.cpp's prompt cache): what remote grounding would cost.

    .venv/bin/python benchmarks/remote.py --json              # 8 prompts x 64 tokens
    .venv/bin/python benchmarks/remote.py --prompts 2 --new-tokens 8 --json

Needs .venv/llama.cpp/bin/llama-server (scripts/build_llama_server.sh) or $LLAMA_SERVER.
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

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from assistant.core.decoding import DecodingSettings
from assistant.core.engine import Engine
from assistant.core.models import BUNDLED_MODEL_DIR
from assistant.core.remote_engine import RemoteEngine
from tests.gguf_convert import convert
from tests.remote_support import PROMPTS, llama_server, llama_server_binary


def timed(engine: Engine, prompt: str, settings: DecodingSettings) -> tuple[Any, float, float]:
    stream = engine.stream(prompt, settings)
    started = time.perf_counter()
    for _ in stream:
        pass
    total = time.perf_counter() - started
    return stream.result(), total, stream.first_token_seconds or total


def step_by_step(remote: RemoteEngine, prompt: str, count: int) -> tuple[list[int], float]:
    """Greedy decoding with one request per token (how per-step control would run)."""
    ids = remote.encode(prompt)
    settings = DecodingSettings(max_new_tokens=1, top_logprobs=20)
    chosen: list[int] = []
    started = time.perf_counter()
    for _ in range(count):
        token = remote.one_step(ids + chosen, settings)[0]
        assert token.token_id is not None
        chosen.append(token.token_id)
    return chosen, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=len(PROMPTS))
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    binary = llama_server_binary()
    if binary is None:
        print("error: no llama-server (run scripts/build_llama_server.sh)", file=sys.stderr)
        return 1
    torch.set_num_threads(1)
    prompts = PROMPTS[: args.prompts]
    settings = DecodingSettings(max_new_tokens=args.new_tokens, top_logprobs=5)
    with tempfile.TemporaryDirectory() as tmp:
        gguf = convert(BUNDLED_MODEL_DIR, Path(tmp) / "bundled-f32.gguf")
        with llama_server(binary, gguf, log=Path(tmp) / "server.log") as root:
            remote = RemoteEngine.from_name(f"openai:{root}/v1#bundled-gguf")
            local = Engine.load(None, allow_fallback=False, threads=1)
            remote.generate(prompts[0], settings.replace(max_new_tokens=4))  # warm both
            local.generate(prompts[0], settings.replace(max_new_tokens=4))
            rows, worst, worst_top = [], 0.0, 0.0
            step_rates, step_equal = [], True
            for prompt in prompts:
                there, remote_s, remote_first = timed(remote, prompt, settings)
                here, local_s, local_first = timed(local, prompt, settings)
                equal = [s.token_id for s in there.steps] == [s.token_id for s in here.steps]
                for a, b in zip(there.steps, here.steps, strict=False):
                    worst = max(worst, abs(a.logprob - b.logprob))
                    for x, y in zip(a.top, b.top, strict=False):
                        worst_top = max(worst_top, abs(x.logprob - y.logprob))
                count = min(16, args.new_tokens)
                stepped, stepped_s = step_by_step(remote, prompt, count)
                step_equal &= stepped == [s.token_id for s in here.steps][: len(stepped)]
                step_rates.append(len(stepped) / stepped_s)
                rows.append(
                    {
                        "prompt": prompt,
                        "tokens_equal": equal,
                        "new_tokens": [len(there.steps), len(here.steps)],
                        "remote_tokens_per_s": len(there.steps) / remote_s,
                        "local_tokens_per_s": len(here.steps) / local_s,
                        "remote_first_token_ms": remote_first * 1000,
                        "local_first_token_ms": local_first * 1000,
                    }
                )
    report = {
        "settings": {"prompts": len(prompts), "new_tokens": args.new_tokens, "threads": 1},
        "greedy_equal": sum(r["tokens_equal"] for r in rows),
        "max_abs_logprob_diff_chosen": worst,
        "max_abs_logprob_diff_top5": worst_top,
        "remote_tokens_per_s_median": statistics.median(r["remote_tokens_per_s"] for r in rows),
        "local_tokens_per_s_median": statistics.median(r["local_tokens_per_s"] for r in rows),
        "remote_first_token_ms_median": statistics.median(r["remote_first_token_ms"] for r in rows),
        "local_first_token_ms_median": statistics.median(r["local_first_token_ms"] for r in rows),
        "step_by_step_tokens_per_s_median": statistics.median(step_rates),
        "step_by_step_tokens_equal": step_equal,
        "rows": rows,
    }
    report["remote/local_tokens_per_s"] = (
        report["remote_tokens_per_s_median"] / report["local_tokens_per_s_median"]
    )
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            if key != "rows":
                print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
