"""Answer rate of a model on corpus/QUESTIONS.jsonl with the gold passage in context.

    python benchmarks/answer_rate.py [MODEL_DIR] [--json] [--threads 2]

MODEL_DIR defaults to the bundled model (assistant/resources/model). Greedy decoding, up to
48 new tokens, cut at the prompt template's stop strings; an answer counts when it contains
the question's answer phrase (case-insensitive). See assistant/training/answer_rate.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", nargs="?", default=str(REPO / "assistant/resources/model"))
    parser.add_argument("--questions", default=str(REPO / "corpus/QUESTIONS.jsonl"))
    parser.add_argument("--corpus", default=str(REPO / "corpus"))
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--show", action="store_true", help="print every question and answer")
    args = parser.parse_args()

    import torch
    from transformers.utils import logging

    from assistant.training.answer_rate import evaluate

    torch.set_num_threads(args.threads)
    logging.set_verbosity_error()
    result = evaluate(args.model_dir, Path(args.questions), Path(args.corpus), args.max_new_tokens)
    if args.json:
        json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    if args.show:
        for o in result["outcomes"]:
            mark = "+" if o["correct"] else "-"
            print(f"{mark} Q: {o['question']}\n  want: {o['answer']}\n  got:  {o['generated']}")
    print(
        f"answer rate {result['answer_rate']:.1%} "
        f"({result['answers_containing_phrase']}/{result['questions']}, "
        f"gold passage found for {result['gold_passage_found']}) in {result['seconds']}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
