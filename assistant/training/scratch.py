"""``assistant train``: a byte-level BPE tokenizer and a small GPT-2 trained from scratch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import GPT2Config, GPT2LMHeadModel, GPT2Tokenizer

from assistant.errors import UsageError
from assistant.rag.loaders import DEFAULT_MAX_BYTES
from assistant.training.data import Split
from assistant.training.loop import LoopConfig
from assistant.training.pipeline import BuiltModel, RunPlan, run_training
from assistant.training.progress import TrainingProgress
from assistant.training.runs import DOC_SHARE, RunReport, qa_examples_for
from assistant.training.tokenizer_training import train_tokenizer

QA_EXAMPLES_PER_PASSAGE = 16  # default --qa-count per answerable passage (finetune uses 8)


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
    qa_count: int = 0  # 0: QA_EXAMPLES_PER_PASSAGE per passage
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

    def run_plan(self) -> RunPlan:
        loop = LoopConfig(
            steps=self.steps,
            batch_size=self.batch_size,
            lr=self.lr,
            seed=self.seed,
            checkpoint_every=self.checkpoint_every,
            position_offsets=self.block_size < self.n_positions,
            lead_steps=self.copy_warmup,
        )
        return RunPlan(
            loop,
            self.block_size,
            self.qa_examples,
            self.qa_count,
            qa_answers_only=self.qa_loss == "answers",
            qa_swap_share=self.qa_swap,
            text_share=self.text_share,
            copy_share=self.copy_share,
            context=self.n_positions,
        )


def train_from_scratch(
    options: ScratchOptions,
    resume: bool = False,
    steps_override: int | None = None,
    progress: TrainingProgress | None = None,
    max_file_bytes: int = DEFAULT_MAX_BYTES,
) -> RunReport:
    """Train and save a model into ``options.out_dir``; see ``train_cmds`` for the CLI."""
    return run_training(
        "train",
        options,
        ScratchOptions,
        build_new_model,
        qa_per_passage=QA_EXAMPLES_PER_PASSAGE,
        resume=resume,
        steps_override=steps_override,
        progress=progress,
        max_file_bytes=max_file_bytes,
    )


def build_new_model(options: ScratchOptions, split: Split, checkpoint: Path | None) -> BuiltModel:
    """A new tokenizer and a randomly initialised GPT-2 (or, resuming, the checkpoint)."""
    if checkpoint is not None:
        tokenizer = GPT2Tokenizer.from_pretrained(checkpoint)
        model = GPT2LMHeadModel.from_pretrained(checkpoint, dtype=torch.float32)
    else:
        tokenizer = _new_tokenizer(options, split)
        model = GPT2LMHeadModel(_model_config(options, tokenizer))

    def write_model(folder: Path) -> None:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    return BuiltModel(model, tokenizer, write_model)


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
