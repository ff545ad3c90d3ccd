"""Pieces shared by ``train`` and ``finetune``: data → blocks, the final save, the report."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from transformers import PreTrainedTokenizerBase

# quiet_transformers is re-exported: train and finetune call it before their progress.
from assistant.core.models import quiet_transformers as quiet_transformers
from assistant.errors import DataError
from assistant.training.checkpoint import CHECKPOINTS, STATE_FILE, latest_checkpoint, read_state
from assistant.training.copy_blocks import copy_blocks
from assistant.training.data import Block, Corpus, Split, pack_examples, pack_stream, token_stream
from assistant.training.loop import LoopResult
from assistant.training.progress import TrainingProgress
from assistant.training.qa_examples import (
    Encoder,
    Passage,
    QAExample,
    build_examples,
    document_passages,
    tokenize_example,
)

DOC_SHARE = 0.3  # default fraction of training blocks that are running text with QA examples


@dataclass
class TrainingData:
    blocks: list[Block]
    heldout: list[Block]
    text_blocks: int
    qa_blocks: int = 0
    qa_examples: int = 0
    qa_skipped: int = 0
    text_repeats: int = 1
    copy_blocks: int = 0


def build_training_data(
    split: Split,
    tokenizer: PreTrainedTokenizerBase,
    block_size: int,
    qa_count: int,
    seed: int,
    qa_answers_only: bool = True,
    qa_swap_share: float = 0.0,
    text_share: float = DOC_SHARE,
    copy_share: float = 0.0,
    context: int = 0,
) -> TrainingData:
    """Running-text blocks, plus packed QA examples when ``qa_count`` > 0, and held-out blocks.

    Text blocks are repeated so they stay about ``text_share`` of what the model sees: a small
    folder gives far fewer text tokens than QA tokens. ``copy_share`` > 0 adds that share of
    synthetic copy blocks (see ``copy_blocks``) drawn from the documents' tokens, placed at
    positions below ``context`` (the model's n_positions).
    """
    eos = tokenizer.eos_token_id
    if eos is None:
        raise ValueError("the tokenizer has no end-of-text token")

    encode = encoder(tokenizer)

    text_ids = token_stream((d.text for d in split.train), encode, eos)
    text_blocks = pack_stream(text_ids, block_size, eos)
    heldout = pack_stream(token_stream(split.heldout, encode, eos), block_size, eos, min_tail=2)
    data = TrainingData(blocks=list(text_blocks), heldout=heldout, text_blocks=len(text_blocks))
    if qa_count > 0:
        examples = qa_examples_for(split, qa_count, seed, qa_swap_share)
        encode_offsets = offsets_encoder(tokenizer)
        qa_blocks, skipped = pack_examples(
            (tokenize_example(ex, encode_offsets, qa_answers_only) for ex in examples),
            block_size,
            eos,
        )
        repeats = max(
            1, round(len(qa_blocks) * text_share / (1 - text_share) / max(1, len(text_blocks)))
        )
        data.blocks = text_blocks * repeats + qa_blocks
        data.qa_blocks, data.qa_examples, data.qa_skipped = len(qa_blocks), len(examples), skipped
        data.text_repeats = repeats
    if copy_share > 0:
        # At least one, so a small folder still gets the copy blocks (and warm-up) asked for.
        count = max(1, round(len(data.blocks) * copy_share / (1 - copy_share)))
        pool = [t for t in text_ids if t != eos]
        copies = copy_blocks(count, block_size, pool, seed, context)
        data.blocks, data.copy_blocks = data.blocks + copies, len(copies)
    return data


def training_passages(split: Split) -> list[Passage]:
    """Passages of the training documents only (held-out paragraphs never appear)."""
    exclude = frozenset(split.heldout)
    return [p for doc in split.train for p in document_passages(doc, exclude)]


def encoder(tokenizer: PreTrainedTokenizerBase) -> Callable[[str], list[int]]:
    """Text → ids without special tokens and without the over-length warning on long texts."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        return lambda text: list(backend.encode(text, add_special_tokens=False).ids)
    return lambda text: list(tokenizer(text, add_special_tokens=False)["input_ids"])


OptionsT = TypeVar("OptionsT")


def resume_point(
    options: OptionsT,
    out_dir: Path,
    resume: bool,
    steps: int | None,
    options_type: Callable[..., OptionsT],
) -> tuple[OptionsT, Path | None]:
    """The options to run with and the checkpoint to continue from (None: a fresh run).

    On resume the stored options are used (they rebuild exactly the same data and model);
    only the number of steps may change.
    """
    checkpoint = latest_checkpoint(out_dir) if resume else None
    if resume and checkpoint is None:
        raise DataError(f"nothing to resume: no checkpoint under {out_dir}")
    if checkpoint is None:
        return options, None
    stored = dict(read_state(checkpoint)["run"]["options"])
    stored["data_dir"], stored["out_dir"] = Path(stored["data_dir"]), Path(stored["out_dir"])
    if steps is not None:
        stored["steps"] = steps
    return options_type(**stored), checkpoint


def report_skipped(corpus: Corpus, progress: TrainingProgress | None) -> None:
    for path, reason in corpus.skipped:
        message = f"skipped {path}: {reason}"
        if progress is not None:
            progress.message(message)


def offsets_encoder(tokenizer: PreTrainedTokenizerBase) -> Encoder:
    """Text → (ids, character offsets of each token), without special tokens added."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:

        def encode(text: str) -> tuple[list[int], list[tuple[int, int]]]:
            enc = backend.encode(text, add_special_tokens=False)
            return list(enc.ids), [tuple(o) for o in enc.offsets]

        return encode

    def slow(text: str) -> tuple[list[int], list[tuple[int, int]]]:
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]

    return slow


def qa_examples_for(
    split: Split, count: int, seed: int, swap_share: float = 0.0
) -> list[QAExample]:
    return build_examples(training_passages(split), count, seed, swap_share)


def publish_model(out_dir: Path, write_model: Any, summary: dict[str, Any]) -> None:
    """Write the final model into ``out_dir`` file by file (each replace is atomic), record
    the run in training_state.json, then drop the checkpoints they superseded."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / ".tmp-final"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    write_model(tmp)
    (tmp / STATE_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    for item in sorted(tmp.iterdir()):
        os.replace(item, out_dir / item.name)
    tmp.rmdir()
    shutil.rmtree(out_dir / CHECKPOINTS, ignore_errors=True)


@dataclass
class RunReport:
    command: str
    out_dir: Path
    result: LoopResult
    corpus: Corpus
    data: TrainingData
    parameters: int
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        r = self.result
        tail = r.losses[-min(len(r.losses), 20) :]
        return {
            "command": self.command,
            "out": str(self.out_dir),
            "steps": r.steps,
            "resumed_from_step": r.start_step,
            "tokens_seen": r.tokens_seen,
            "seconds": round(r.seconds, 2),
            "parameters": self.parameters,
            "documents": len(self.corpus.documents),
            "bytes": self.corpus.total_bytes,
            "skipped_files": [{"path": str(p), "reason": why} for p, why in self.corpus.skipped],
            "train_blocks": len(self.data.blocks),
            "heldout_blocks": len(self.data.heldout),
            "qa_examples": self.data.qa_examples,
            "copy_blocks": self.data.copy_blocks,
            "first_loss": r.losses[0] if r.losses else None,
            "final_loss": round(sum(tail) / len(tail), 4) if tail else None,
            "heldout_loss_before": round(r.heldout_loss_before, 4),
            "heldout_loss_after": round(r.heldout_loss_after, 4),
            "heldout_perplexity_before": round(r.heldout_ppl_before, 3),
            "heldout_perplexity_after": round(r.heldout_ppl_after, 3),
            "losses": r.losses,
            **self.info,
        }
