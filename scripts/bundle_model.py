"""Copy a model trained with ``assistant train`` into the package and write its model card.

    python scripts/bundle_model.py TRAIN_OUT_DIR --answer-rate RESULT.json --command "..."

TRAIN_OUT_DIR is the --out folder of the training run (its training_state.json holds the
figures); RESULT.json is the output of ``benchmarks/answer_rate.py TRAIN_OUT_DIR --json``.
The card (README.md) records data, size, the exact command, time, loss, held-out perplexity
and the answer rate, so every number in it can be reproduced.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.training.copy_blocks import MAX_RUN, MIN_RUN  # noqa: E402
from assistant.training.qa_examples import SWAPPED_WORD_SHARE  # noqa: E402

TARGET = REPO / "assistant" / "resources" / "model"
MODEL_FILES = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
)
SIZE_LIMIT = 20 * 1024 * 1024


def card(state: dict[str, Any], rate: dict[str, Any], config: dict[str, Any], command: str) -> str:
    options = state["run"]["options"]
    size = sum((TARGET / name).stat().st_size for name in MODEL_FILES if (TARGET / name).exists())
    weights = (TARGET / "model.safetensors").stat().st_size
    minutes = state["seconds"] / 60
    before, after = state["heldout_perplexity_before"], state["heldout_perplexity_after"]
    loss = (
        "The loss is taken on the answers only."
        if options.get("qa_loss", "answers") == "answers"
        else "The loss is taken on the whole prompt (passages, questions and answers)."
    )
    share = f"about {options.get('text_share', 0.3):.0%}"
    swap = options.get("qa_swap", 0.0)
    if swap:
        loss += (
            f" In about {swap:.0%} of the prompts {SWAPPED_WORD_SHARE:.0%} of the distinct content"
            " words and numbers are swapped for other words of the notes and other numbers, the"
            " same way in passages, question and answer, so those answers can only be copied from"
            " the passage, not recalled from memory."
        )
    copies = ""
    if state.get("copy_blocks"):
        warmup = options.get("copy_warmup", 0)
        copies = (
            f"\n- {state['copy_blocks']:,} synthetic copy blocks (`--copy-share`"
            f" {options['copy_share']}): runs of {MIN_RUN}-{MAX_RUN} tokens drawn from the notes'"
            " token frequencies, each followed by its exact repeat, as packed examples at random"
            " positions of the context; the loss is on the repeats."
            + (f" The first {warmup:,} steps saw copy blocks only." if warmup else "")
        )
    threads = re.search(r"--threads (\d+)", command)
    thread_text = f"{threads[1] if threads else 'default'} torch thread(s)"
    skill = (
        "It was trained to answer from a passage placed in its prompt, and with the passage "
        "given it does so for the share of questions shown under Evaluation."
        if rate["answer_rate"] >= 0.2
        else "It was trained on prompts in the assistant's retrieval format, but it has not "
        "learned to copy answers from the passage: the few answers it gets right (see "
        "Evaluation) come as much from what it memorised of the notes. Copying needs induction "
        "heads, which a model this small forms only after thousands of steps of copy practice "
        "(`--copy-share`, `--copy-warmup`) and then needs more steps again to use them on "
        "passages: more compute than this model was given."
    )
    return f"""# Bundled model: course-assistant-gpt2-small

A small GPT-2 (`GPT2LMHeadModel`) trained from scratch by this project with `assistant train`
on the course notes in `corpus/`. It is the offline fallback: the engine loads it when the
configured model (e.g. `gpt2`) cannot be loaded, and says so. It is a toy next to GPT-2: it
has seen about {state["bytes"] / 1000:.0f} kB of text, so expect repetitive, often wrong
continuations. {skill}

## Data

- {state["documents"]} Markdown notes from `corpus/` ({state["bytes"]:,} bytes); about 10% of
  the body paragraphs (chosen by a hash of their text) are held out for perplexity.
- {state["qa_examples"]:,} question-answer prompts built from the training paragraphs in the
  assistant's own retrieval format (`assistant/chat/template.py`: numbered context passages
  with sources, optional history, `Question:` / `Answer:`), 1-4 answered questions each, the
  answer copied or cut from a shown passage, the gold passage among 0-3 distractors. {loss}
  `corpus/QUESTIONS.jsonl` is not used for training.{copies}
- {state["train_blocks"]:,} training blocks of {options["block_size"]} tokens (running text
  repeated to {share} of them), {state["tokens_seen"]:,} tokens seen in training.

## Architecture and size

- GPT-2: {config["n_layer"]} layers, {config["n_head"]} heads, n_embd {config["n_embd"]},
  context (n_positions) {config["n_positions"]}, vocabulary {config["vocab_size"]:,}
  (byte-level BPE trained on the same notes; `<|endoftext|>` is bos/eos/unk/pad).
- {state["parameters"]:,} parameters, float32 weights: model.safetensors
  {weights / 1e6:.1f} MB, all files {size / 1e6:.1f} MB.

## Training

```
{command}
```

- {state["steps"]} steps, batch {options["batch_size"]}, AdamW (betas 0.9/0.95, weight decay
  0.01), peak learning rate {options["lr"]}, linear warmup and decay, gradient clipping 1.0,
  dropout {options["dropout"]}, seed {options["seed"]}; CPU, {thread_text}.
- Training time: {minutes:.1f} minutes ({state["seconds"]:.0f} s) on a shared 2-core CPU.
- Final training loss (mean of the last 20 steps): {state["final_loss"]}.

## Evaluation

- Held-out perplexity (held-out paragraphs, {state["heldout_blocks"]} blocks):
  **{after:.1f}** after training ({before:.1f} for the untrained model).
- Answer rate on `corpus/QUESTIONS.jsonl` with the gold passage in context:
  **{rate["answer_rate"]:.1%}** ({rate["answers_containing_phrase"]} of {rate["questions"]}
  answers contain the answer phrase, case-insensitive). The gold passage is the paragraph of the
  source file that contains the answer phrase; prompt `render_prompt(question, [passage])`;
  greedy decoding, at most {rate["max_new_tokens"]} new tokens, cut at the template's stop
  strings. Reproduce with `python benchmarks/answer_rate.py assistant/resources/model --json`.

## Limits

Trained on about a hundred kilobytes of text, so its perplexity on anything else is high and
what it writes without a passage is unreliable. Use it to try the assistant offline and to see
token probabilities; for real answers configure `gpt2` or larger (`--model gpt2`).
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train_out", type=Path)
    parser.add_argument("--answer-rate", type=Path, required=True)
    parser.add_argument("--command", required=True, help="the exact training command")
    args = parser.parse_args()
    state = json.loads((args.train_out / "training_state.json").read_text(encoding="utf-8"))
    rate = json.loads(args.answer_rate.read_text(encoding="utf-8"))
    config = json.loads((args.train_out / "config.json").read_text(encoding="utf-8"))
    if TARGET.exists():
        shutil.rmtree(TARGET)
    TARGET.mkdir(parents=True)
    for name in MODEL_FILES:
        if (args.train_out / name).exists():
            shutil.copy2(args.train_out / name, TARGET / name)
    (TARGET / "README.md").write_text(card(state, rate, config, args.command), encoding="utf-8")
    total = sum(p.stat().st_size for p in TARGET.iterdir())
    print(f"bundled {TARGET} ({total / 1e6:.1f} MB)")
    if total > SIZE_LIMIT:
        print("error: the bundled model is larger than 20 MB", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
