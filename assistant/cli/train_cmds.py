"""Training commands: ``train`` (GPT-2 from scratch) and ``finetune`` (continue a GPT-2)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from assistant.cli.common import emit_json, notice
from assistant.errors import UsageError
from assistant.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser(
        "train",
        help="train a tokenizer and a small GPT-2 from scratch on a folder of documents",
        description="Train a byte-level BPE tokenizer and a small GPT-2 on DIR; the result in "
        "--out loads with --model OUT everywhere.",
    )
    train.add_argument(
        "data_dir",
        metavar="DIR",
        type=Path,
        help="folder of documents: the files `assistant index add DIR` reads "
        "(.md .txt .org .rst .html .pdf)",
    )
    train.add_argument("--out", required=True, type=Path, help="output model folder")
    train.add_argument("--steps", type=int, help="optimizer steps (default 2000)")
    train.add_argument("--block-size", type=int, default=256, help="tokens per training sequence")
    train.add_argument("--batch-size", type=int, default=8)
    train.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    train.add_argument("--n-layer", type=int, default=4)
    train.add_argument("--n-embd", type=int, default=256)
    train.add_argument("--n-head", type=int, default=8)
    train.add_argument("--n-positions", type=int, default=1024, help="context length")
    train.add_argument("--vocab-size", type=int, default=8000)
    train.add_argument("--dropout", type=float, default=0.0)
    _common_flags(train, checkpoint_every=200)
    train.add_argument(
        "--qa-examples",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also train on question-answer examples in the assistant's prompt format",
    )
    train.add_argument("--qa-count", type=int, default=0, help="QA examples (0: ~16 per passage)")
    train.add_argument(
        "--qa-loss",
        choices=("all", "answers"),
        default="all",
        help="train on whole QA prompts (default) or on their answers only",
    )
    train.add_argument(
        "--qa-swap",
        type=float,
        default=0.0,
        help="share of QA examples whose content words and numbers are swapped for others "
        "(so the answer can only be copied from the passage, not recalled); default 0",
    )
    train.add_argument(
        "--text-share",
        type=float,
        default=0.3,
        help="share of training blocks that are running text when QA examples are on",
    )
    train.add_argument(
        "--copy-share",
        type=float,
        default=0.0,
        help="share of synthetic copy blocks (random token runs and their repeats) that teach "
        "the model to copy from its context; default 0",
    )
    train.add_argument(
        "--copy-warmup",
        type=int,
        default=0,
        help="train the first STEPS steps on copy blocks only (needs --copy-share)",
    )
    train.set_defaults(func=run_train)

    tune = sub.add_parser(
        "finetune",
        help="continue training a GPT-2-family model on a folder of documents (optionally LoRA)",
        description="Causal-LM fine-tuning on packed blocks of DIR's documents.",
    )
    # --model is also a global option (which the CLI may re-add to every subcommand; "resolve"
    # lets that definition replace this one): either way the value lands in args.model.
    tune.conflict_handler = "resolve"
    tune.add_argument(
        "--model",
        help="model to start from (required): a preset (see `assistant models`), 'bundled', "
        "an HF id or a model folder",
    )
    tune.add_argument(
        "--data",
        dest="data_dir",
        required=True,
        type=Path,
        help="folder of documents (the files `assistant index add` reads)",
    )
    tune.add_argument("--out", required=True, type=Path, help="output model folder")
    tune.add_argument("--steps", type=int, help="optimizer steps (default 500)")
    tune.add_argument("--block-size", type=int, default=256)
    tune.add_argument("--batch-size", type=int, default=4)
    tune.add_argument("--lr", type=float, default=0.0, help="default 5e-5, or 1e-3 with --lora")
    tune.add_argument("--lora", action="store_true", help="train LoRA adapters (merged on save)")
    tune.add_argument("--lora-r", type=int, default=8)
    tune.add_argument("--lora-alpha", type=int, default=16)
    tune.add_argument(
        "--qa-examples",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="add question-answer examples in the assistant's prompt format",
    )
    _common_flags(tune, checkpoint_every=100)
    tune.set_defaults(func=run_finetune)


def _common_flags(parser: argparse.ArgumentParser, checkpoint_every: int) -> None:
    parser.add_argument("--seed", type=int, default=0, help="same seed, same data → same losses")
    parser.add_argument(
        "--checkpoint-every", type=int, default=checkpoint_every, help="steps between checkpoints"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the last checkpoint in --out (its stored settings; --steps may grow)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def run_train(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.training.scratch import ScratchOptions, train_from_scratch

    options = ScratchOptions(
        data_dir=args.data_dir,
        out_dir=args.out,
        steps=args.steps or 2000,
        block_size=args.block_size,
        batch_size=args.batch_size,
        lr=args.lr,
        n_layer=args.n_layer,
        n_embd=args.n_embd,
        n_head=args.n_head,
        n_positions=args.n_positions,
        vocab_size=args.vocab_size,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        qa_examples=args.qa_examples,
        qa_count=args.qa_count,
        qa_loss=args.qa_loss,
        dropout=args.dropout,
        qa_swap=args.qa_swap,
        text_share=args.text_share,
        copy_share=args.copy_share,
        copy_warmup=args.copy_warmup,
    )
    return _run(args, settings, lambda progress: train_from_scratch(
        options, resume=args.resume, steps_override=args.steps, progress=progress,
        max_file_bytes=_max_file_bytes(settings),
    ))  # fmt: skip


def run_finetune(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.training.finetune import FinetuneOptions, finetune

    if not args.model and not args.resume:
        raise UsageError("finetune needs --model NAME_OR_DIR (the model to start from)")
    options = FinetuneOptions(
        model=args.model or "",
        data_dir=args.data_dir,
        out_dir=args.out,
        steps=args.steps or 500,
        block_size=args.block_size,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        lora=args.lora,
        lora_r=args.lora_r,
        lora_alpha=args.lora_alpha,
        qa_examples=args.qa_examples,
    )
    return _run(args, settings, lambda progress: finetune(
        options, resume=args.resume, steps_override=args.steps, progress=progress,
        max_file_bytes=_max_file_bytes(settings),
    ))  # fmt: skip


def _max_file_bytes(settings: Settings) -> int:
    """The indexer's size limit, so training skips the files indexing would skip."""
    return int(settings.max_file_mb * 1024 * 1024)


def _run(args: argparse.Namespace, settings: Settings, start: Any) -> int:
    import torch

    from assistant.core.models import quiet_transformers
    from assistant.training.loop import TrainingInterrupted
    from assistant.training.progress import TrainingProgress

    quiet_transformers()
    if settings.torch_threads:
        torch.set_num_threads(settings.torch_threads)
    try:
        with TrainingProgress() as progress:
            report = start(progress)
    except TrainingInterrupted as stop:
        where = stop.checkpoint or "none yet (no checkpoint was written)"
        notice(f"interrupted at step {stop.step}; last checkpoint: {where}")
        if stop.checkpoint is not None:
            again = (
                f"{args.data_dir}"
                if args.command == "train"
                else f"--model {args.model} --data {args.data_dir}"
            )
            notice(f"continue with: assistant {args.command} {again} --out {args.out} --resume")
        return 130
    summary = report.to_json()
    if args.json:
        emit_json(summary)
    else:
        print(
            f"saved {summary['out']} ({summary['steps']} steps, {summary['seconds']:.0f}s, "
            f"{summary['parameters']:,} parameters)\n"
            f"final training loss {summary['final_loss']}\n"
            f"held-out perplexity {summary['heldout_perplexity_before']:.2f} before, "
            f"{summary['heldout_perplexity_after']:.2f} after",
            file=sys.stdout,
        )
    return 0
