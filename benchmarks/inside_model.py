"""How long the logit lens and the attention view take on a text of N tokens (default 200).

Models: the bundled one, and (with --gpt2-shape) a GPT-2-small-shaped model with random
weights built in-process (12 layers, 768 wide, vocabulary 50257; no download), so the cost on
the real shape is known offline. Prints one JSON document: median milliseconds of the lens,
the attention view and a plain forward pass (the model's own next-token table), same text.

    python benchmarks/inside_model.py --tokens 200 --threads 1 --gpt2-shape
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.core.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def median_ms(run: Callable[[], object], repeats: int) -> float:
    run()  # the first call installs transformers' output hooks
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 2)


def measure(engine: Engine, ids: list[int], repeats: int) -> dict[str, float]:
    from assistant.core.attention import attention_at
    from assistant.core.lens import logit_lens

    text = engine.decode(ids)
    return {
        "lens_ms": median_ms(lambda: logit_lens(engine, ids, k=5), repeats),
        "attention_ms": median_ms(lambda: attention_at(engine, ids), repeats),
        "forward_ms": median_ms(lambda: engine.next_token_distribution(text, k=5), repeats),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--gpt2-shape", action="store_true", help="also a random GPT-2 small")
    args = parser.parse_args()

    import torch

    from assistant.core.engine import Engine
    from assistant.core.models import LoadedModel, quiet_transformers

    quiet_transformers()
    bundled = Engine.load(None, allow_fallback=False, threads=args.threads)
    corpus = " ".join(p.read_text() for p in sorted((ROOT / "corpus").glob("*.md")))
    ids = bundled.encode(corpus)[: args.tokens]
    results = {"bundled": measure(bundled, ids, args.repeats)}
    if args.gpt2_shape:
        from transformers import GPT2Config, GPT2LMHeadModel

        torch.manual_seed(0)
        model = GPT2LMHeadModel(GPT2Config()).eval().requires_grad_(False)
        loaded = LoadedModel(model, bundled.tokenizer, name="gpt2-shaped", source="random")
        results["gpt2_small_shape"] = measure(Engine(loaded), ids, args.repeats)
    settings = {"tokens": len(ids), "threads": torch.get_num_threads()}
    json.dump({"settings": settings, "results": results}, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
