"""Router accuracy on the dev set and the held-out set, rules only and with the embedder.

Each message is routed as the chat routes it (the same snapshot of ``corpus/`` names as
tests/test_router.py) and judged against its label:

- a tool was expected: ``correct_call`` (the right tools, and the right arguments: the
  calculator's expression must evaluate to the expected value), ``wrong_call`` (some call,
  but not that one) or ``missed`` (no call);
- no tool was expected: ``correct_abstain`` or ``false_call``.

The dev set (tests/data/routing_dev.jsonl) is what the rules are tuned on; the held-out set
(benchmarks/data/router_heldout.jsonl) was written before tuning and is only measured.
``--embedder`` adds the intent-by-similarity stage with the real all-MiniLM-L6-v2 model
(offline, from site-packages).

    .venv/bin/python benchmarks/router.py --json [--embedder] [--show-misses dev]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.tools.plan import PlannedCall  # noqa: E402
from assistant.tools.router import Router  # noqa: E402
from mcp_servers.calculator.errors import CalculationError  # noqa: E402
from mcp_servers.calculator.evaluator import evaluate_expression  # noqa: E402

SETS = {
    "dev": ROOT / "tests" / "data" / "routing_dev.jsonl",
    "heldout": ROOT / "benchmarks" / "data" / "router_heldout.jsonl",
}
# A fixed snapshot of corpus/ names (tests/test_router.py uses the same), so that the
# figures do not move when notes are added.
KNOWN_FILES = [
    "attention.md", "decoding.md", "decoding-worked-examples.md", "assistant-decoding-settings.md",
    "embeddings.md", "evaluation-perplexity.md", "fine-tuning.md", "glossary.md",
    "gpt-family.md", "language-modeling.md", "lora-and-peft.md", "mcp.md", "rag.md",
    "rlhf-and-dpo.md", "scaling-laws.md", "tokenization.md", "transformer-architecture.md",
]  # fmt: skip
OUTCOMES = ("correct_call", "wrong_call", "missed", "correct_abstain", "false_call")


def load_cases(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _value_matches(expression: str, expected: float) -> bool:
    try:
        value = evaluate_expression(expression).value
    except CalculationError:
        return False
    return value is not None and math.isclose(float(value), expected, rel_tol=1e-4)


def _args_match(call: PlannedCall, wanted: dict[str, Any]) -> bool:
    """Each wanted argument equal (strings case-insensitively); None means left out."""
    for key, value in wanted.items():
        got = call.arguments.get(key)
        if value is None:
            if got not in (None, "*"):
                return False
        elif isinstance(value, str):
            if not isinstance(got, str) or got.casefold() != value.casefold():
                return False
        elif got != value:
            return False
    return True


def _matches(calls: Sequence[PlannedCall], label: dict[str, Any]) -> bool:
    if [call.name for call in calls] != label["expected"]:
        return False
    first = calls[0]
    if "value" in label and not _value_matches(
        first.arguments.get("expression", ""), label["value"]
    ):
        return False
    return _args_match(first, label.get("args", {}))


def judge(case: dict[str, Any], calls: Sequence[PlannedCall]) -> str:
    if not case["expected"]:
        return "false_call" if calls else "correct_abstain"
    if not calls:
        return "missed"
    labels = [case, *case.get("also_ok", [])]
    return "correct_call" if any(_matches(calls, label) for label in labels) else "wrong_call"


def measure(
    router: Router, cases: list[dict[str, Any]], show_misses: bool = False
) -> dict[str, Any]:
    counts = dict.fromkeys(OUTCOMES, 0)
    by_category: dict[str, list[int]] = {}
    misses: list[dict[str, Any]] = []
    started = time.perf_counter()
    for case in cases:
        calls, explanation = router.route(case["text"], known_files=KNOWN_FILES)
        outcome = judge(case, calls)
        counts[outcome] += 1
        right = outcome in ("correct_call", "correct_abstain")
        tally = by_category.setdefault(case.get("category", "-"), [0, 0])
        tally[0] += right
        tally[1] += 1
        if not right and show_misses:
            misses.append({"text": case["text"], "outcome": outcome, "routed": explanation})
    seconds = time.perf_counter() - started
    correct = counts["correct_call"] + counts["correct_abstain"]
    requests = sum(1 for case in cases if case["expected"])
    report: dict[str, Any] = {
        "messages": len(cases),
        "correct": correct,
        "accuracy": round(correct / len(cases), 4),
        "confusion": counts,
        "tool_requests_caught": f"{counts['correct_call']}/{requests}",
        "by_category": {name: f"{a}/{n}" for name, (a, n) in sorted(by_category.items())},
        "ms_per_message": round(1000 * seconds / len(cases), 2),
    }
    if show_misses:
        report["misses"] = misses
    return report


def load_embed() -> Callable[[list[str]], Any]:
    from assistant.rag.embedder import Embedder

    return Embedder("all-MiniLM-L6-v2", threads=1).encode  # the calibrated model


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--embedder", action="store_true", help="also measure with the intent-by-similarity stage"
    )
    parser.add_argument(
        "--show-misses", action="append", default=[], choices=sorted(SETS), metavar="SET",
        help="list the messages of SET routed wrongly (tune on dev only)",
    )  # fmt: skip
    parser.add_argument(
        "--sets", nargs="+", default=sorted(SETS), choices=sorted(SETS), help="sets to measure"
    )
    args = parser.parse_args(argv)

    routers: dict[str, Router] = {"rules": Router()}
    if args.embedder:
        routers["embedder"] = Router(embed=load_embed())
    report: dict[str, Any] = {"known_files": len(KNOWN_FILES), "sets": {}}
    for name, path in SETS.items():
        if name not in args.sets:
            continue
        cases = load_cases(path)
        report["sets"][name] = {
            mode: measure(router, cases, name in args.show_misses)
            for mode, router in routers.items()
        }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    for name, modes in report["sets"].items():
        for mode, result in modes.items():
            print(f"{name:8} {mode:9} {result['correct']}/{result['messages']} "
                  f"= {result['accuracy']:.1%}  {result['confusion']}")  # fmt: skip
            for miss in result.get("misses", []):
                print(f"    {miss['outcome']:12} {miss['text']!r} -> {miss['routed']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
