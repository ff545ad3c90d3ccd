"""Does a trained model copy from its context? Per-token losses that tell copying from recall.

    python benchmarks/copy_skill.py MODEL_DIR [--json] [--examples 30]

- answer loss, plain: QA prompts built from the training notes as ``assistant train`` builds
  them; a model can lower it by copying or by recalling the notes.
- answer loss, swapped: the same with word swaps (``--qa-swap``); only copying lowers it.
- copy loss, short: synthetic copy examples (``--copy-share``), runs of 4-48 tokens.
- copy loss, long: the same runs as one 512-token sequence (copying across a longer context).

Uniform guessing over the vocabulary gives ln(vocabulary size) nats; the corpus' unigram
entropy is printed for comparison. Run it on checkpoints (``OUT/checkpoints/step-*``) to see
when induction heads form: the short copy loss falls from about the unigram entropy to ~1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("--corpus", default=str(REPO / "corpus"))
    parser.add_argument("--examples", type=int, default=30, help="QA prompts per kind")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging

    from assistant.training.copy_blocks import copy_blocks
    from assistant.training.data import Block, read_documents, split_heldout
    from assistant.training.loop import heldout_loss
    from assistant.training.qa_examples import tokenize_example
    from assistant.training.runs import encoder, offsets_encoder, qa_examples_for, token_stream

    torch.set_num_threads(args.threads)
    logging.set_verbosity_error()
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    model = AutoModelForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32).eval()
    split = split_heldout(read_documents(Path(args.corpus)))

    def mean_loss(blocks: list[Block]) -> float:
        # One block per batch: QA prompts differ in length (no padding needed or wanted).
        return round(heldout_loss(model, blocks, batch_size=1), 3)

    encode = offsets_encoder(tokenizer)
    result: dict[str, object] = {"model": args.model_dir}
    for name, share in (("answer_loss_plain", 0.0), ("answer_loss_swapped", 1.0)):
        examples = qa_examples_for(split, args.examples, seed=12345, swap_share=share)
        result[name] = mean_loss([Block(*tokenize_example(ex, encode)) for ex in examples])
    eos = tokenizer.eos_token_id
    stream = token_stream((d.text for d in split.train), encoder(tokenizer), eos)
    pool = [t for t in stream if t != eos]
    blocks = copy_blocks(8, 512, pool, seed=999)
    result["copy_loss_short"] = mean_loss(blocks)  # each run pair its own packed example
    result["copy_loss_long"] = mean_loss([Block(b.input_ids, b.labels) for b in blocks])
    counts = Counter(pool)
    result["unigram_entropy"] = round(
        -sum(c / len(pool) * math.log(c / len(pool)) for c in counts.values()), 3
    )
    result["uniform_loss"] = round(math.log(len(tokenizer)), 3)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for key, value in result.items():
            print(f"{key:22} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
