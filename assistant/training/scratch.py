"""``assistant train``: a byte-level BPE tokenizer and a small GPT-2 trained from scratch."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from transformers import GPT2Config, GPT2LMHeadModel, GPT2Tokenizer

from assistant.errors import UsageError
from assistant.training.data import Split, read_documents, split_heldout
from assistant.training.loop import LoopConfig, train_loop
from assistant.training.progress import TrainingProgress
from assistant.training.runs import (
    DOC_SHARE,
    RunReport,
    build_training_data,
    publish_model,
    qa_examples_for,
    report_skipped,
    resume_point,
    training_passages,
)
from assistant.training.tokenizer_training import train_tokenizer


@dataclass(frozen=True)
class ScratchOptions:
    data_dir: Path
    out_dir: Path
    steps: int = 2000
    block_size: int = 256
    batch_size: int = 8
    lr: float = 1e-3
    n_layer: int = 4
    n_embd: int = 256
    n_head: int = 8
    n_positions: int = 1024
    vocab_size: int = 8000
    seed: int = 0
    checkpoint_every: int = 200
    qa_examples: bool = True
    qa_count: int = 0  # 0: about 16 per passage
    qa_loss: str = "all"  # "answers": loss on the answers only; "all": on the whole prompt too
    dropout: float = 0.0
    qa_swap: float = 0.0  # share of QA examples with word swaps (answers only copyable)
    text_share: float = DOC_SHARE  # running-text share of the blocks when QA examples are on
    copy_share: float = 0.0  # share of synthetic copy blocks (see training/copy_blocks.py)
    copy_warmup: int = 0  # first steps train on copy blocks only

    def validate(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.lr <= 0:
            raise UsageError("--steps, --batch-size and --lr must be positive")
        if not 2 <= self.block_size <= self.n_positions:
            raise UsageError(f"--block-size must be between 2 and n_positions ({self.n_positions})")
        if self.n_embd % self.n_head:
            raise UsageError(
                f"--n-embd ({self.n_embd}) must be divisible by --n-head ({self.n_head})"
            )
        if not 0.0 <= self.qa_swap <= 1.0:
            raise UsageError("--qa-swap must be between 0 and 1")
        if not 0.0 < self.text_share < 1.0:
            raise UsageError("--text-share must be between 0 and 1 (exclusive)")
        if not 0.0 <= self.copy_share < 1.0:
            raise UsageError("--copy-share must be at least 0 and below 1")
        if self.copy_warmup < 0 or (self.copy_warmup and not self.copy_share):
            raise UsageError("--copy-warmup must be 0 or more and needs --copy-share above 0")
        if self.vocab_size < 260:
            raise UsageError(
                "--vocab-size must be at least 260 (256 bytes + merges + <|endoftext|>)"
            )


def train_from_scratch(
    options: ScratchOptions,
    resume: bool = False,
    steps_override: int | None = None,
    progress: TrainingProgress | None = None,
) -> RunReport:
    """Train and save a model into ``options.out_dir``; see ``train_cmds`` for the CLI."""
    options, checkpoint = resume_point(
        options, options.out_dir, resume, steps_override, ScratchOptions
    )
    options.validate()
    corpus = read_documents(options.data_dir)
    split = split_heldout(corpus)
    report_skipped(corpus, progress)
    random.seed(options.seed)
    torch.manual_seed(options.seed)

    if checkpoint is not None:
        tokenizer = GPT2Tokenizer.from_pretrained(checkpoint)
        model = GPT2LMHeadModel.from_pretrained(checkpoint, dtype=torch.float32)
    else:
        tokenizer = _new_tokenizer(options, split)
        model = GPT2LMHeadModel(_model_config(options, tokenizer))

    qa_count = 0
    if options.qa_examples:
        answerable = sum(1 for p in training_passages(split) if p.sentences)
        qa_count = options.qa_count or 16 * answerable
    data = build_training_data(
        split,
        tokenizer,
        options.block_size,
        qa_count,
        options.seed,
        qa_answers_only=options.qa_loss == "answers",
        qa_swap_share=options.qa_swap,
        text_share=options.text_share,
        copy_share=options.copy_share,
        context=options.n_positions,
    )

    def write_model(folder: Path) -> None:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    config = LoopConfig(
        steps=options.steps,
        batch_size=options.batch_size,
        lr=options.lr,
        seed=options.seed,
        checkpoint_every=options.checkpoint_every,
        position_offsets=options.block_size < options.n_positions,
        lead_steps=options.copy_warmup,
        lead_blocks=data.copy_blocks,
    )
    options_json = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()}
    run_info = {"command": "train", "options": options_json}
    if progress is not None:
        progress.message(
            f"{len(corpus.documents)} documents, {len(data.blocks)} training blocks "
            f"({data.qa_examples} QA examples, {data.copy_blocks} copy blocks), "
            f"{len(data.heldout)} held-out blocks"
        )
    result = train_loop(
        model, data.blocks, data.heldout, config, options.out_dir, write_model, run_info,
        resume=checkpoint is not None, progress=progress,
    )  # fmt: skip
    report = RunReport(
        "train", options.out_dir, result, corpus, data, sum(p.numel() for p in model.parameters())
    )
    publish_model(options.out_dir, write_model, {**report.to_json(), "run": run_info})
    return report


def _new_tokenizer(options: ScratchOptions, split: Split) -> GPT2Tokenizer:
    texts = [d.text for d in split.train]
    if options.qa_examples:
        # A sample of prompts teaches the tokenizer the template's own words.
        texts += [ex.text for ex in qa_examples_for(split, 50, options.seed)]
    tokenizer = train_tokenizer(texts, options.vocab_size)
    tokenizer.model_max_length = options.n_positions
    return tokenizer


def _model_config(options: ScratchOptions, tokenizer: GPT2Tokenizer) -> GPT2Config:
    eos = tokenizer.eos_token_id
    return GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=options.n_positions,
        n_embd=options.n_embd,
        n_layer=options.n_layer,
        n_head=options.n_head,
        resid_pdrop=options.dropout,
        embd_pdrop=options.dropout,
        attn_pdrop=options.dropout,
        bos_token_id=eos,
        eos_token_id=eos,
        pad_token_id=eos,
    )
