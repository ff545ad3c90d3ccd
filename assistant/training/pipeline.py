"""The one run behind ``assistant train`` and ``assistant finetune``.

Resume point → documents → held-out split → model → blocks → loop → published model. The
commands differ only in how they build the model (``ModelBuilder``), in the settings their
options give (``RunPlan``) and in how many QA examples they make per passage by default.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import Field, asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

import torch
from transformers import PreTrainedTokenizerBase

from assistant.rag.loaders import DEFAULT_MAX_BYTES
from assistant.training.data import Split, read_documents, split_heldout
from assistant.training.loop import LoopConfig, train_loop
from assistant.training.progress import TrainingProgress
from assistant.training.runs import (
    DOC_SHARE,
    RunReport,
    build_training_data,
    publish_model,
    report_skipped,
    resume_point,
    training_passages,
)


@dataclass(frozen=True)
class RunPlan:
    """What a command's options ask of the shared run (its data and loop settings)."""

    loop: LoopConfig  # lead_blocks is set by the run: the copy blocks the data got
    block_size: int  # cut to the model's n_positions
    qa_examples: bool
    qa_count: int = 0  # 0: the command's qa_per_passage for every answerable passage
    qa_answers_only: bool = True
    qa_swap_share: float = 0.0
    text_share: float = DOC_SHARE
    copy_share: float = 0.0
    context: int = 0  # positions copy blocks may use (the model's n_positions)


class RunOptions(Protocol):
    """A command's options: a frozen dataclass that stores and restores the whole run."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @property
    def data_dir(self) -> Path: ...

    @property
    def out_dir(self) -> Path: ...

    def validate(self) -> None: ...

    def run_plan(self) -> RunPlan: ...


@dataclass(frozen=True)
class BuiltModel:
    model: torch.nn.Module  # the whole model (its config and parameter count are reported)
    tokenizer: PreTrainedTokenizerBase
    write: Callable[[Path], None]  # saves a model that loads with from_pretrained
    trainable: torch.nn.Module | None = None  # what the loop updates, if not ``model`` (LoRA)
    info: dict[str, Any] = field(default_factory=dict)  # extra fields for the report

    @property
    def module_to_train(self) -> torch.nn.Module:
        return self.trainable if self.trainable is not None else self.model


OptionsT = TypeVar("OptionsT", bound=RunOptions)
# (final options, training split, checkpoint to continue from or None) -> the model
ModelBuilder = Callable[[OptionsT, Split, Path | None], BuiltModel]


def run_training(
    command: str,
    options: OptionsT,
    options_type: Callable[..., OptionsT],
    build_model: ModelBuilder[OptionsT],
    *,
    qa_per_passage: int,
    resume: bool = False,
    steps_override: int | None = None,
    progress: TrainingProgress | None = None,
    max_file_bytes: int = DEFAULT_MAX_BYTES,
) -> RunReport:
    """Train, checkpoint and publish a model into ``options.out_dir``; see ``train_cmds``."""
    options, checkpoint = resume_point(
        options, options.out_dir, resume, steps_override, options_type
    )
    options.validate()
    plan = options.run_plan()
    corpus = read_documents(options.data_dir, max_bytes=max_file_bytes)
    split = split_heldout(corpus)
    report_skipped(corpus, progress)
    random.seed(plan.loop.seed)
    torch.manual_seed(plan.loop.seed)  # before the model is built: its initial weights
    built = build_model(options, split, checkpoint)

    config = getattr(built.model, "config", None)
    block_size = min(plan.block_size, int(getattr(config, "n_positions", 0) or plan.block_size))
    qa_count = 0
    if plan.qa_examples:
        answerable = sum(1 for p in training_passages(split) if p.sentences)
        qa_count = plan.qa_count or qa_per_passage * answerable
    data = build_training_data(
        split,
        built.tokenizer,
        block_size,
        qa_count,
        plan.loop.seed,
        qa_answers_only=plan.qa_answers_only,
        qa_swap_share=plan.qa_swap_share,
        text_share=plan.text_share,
        copy_share=plan.copy_share,
        context=plan.context,
    )
    loop_config = replace(plan.loop, lead_blocks=data.copy_blocks)
    options_json = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()}
    run_info = {"command": command, "options": options_json}
    if progress is not None:
        progress.message(
            f"{len(corpus.documents)} documents, {len(data.blocks)} training blocks "
            f"({data.qa_examples} QA examples, {data.copy_blocks} copy blocks), "
            f"{len(data.heldout)} held-out blocks"
        )
    result = train_loop(
        built.module_to_train, data.blocks, data.heldout, loop_config,
        options.out_dir, built.write, run_info,
        resume=checkpoint is not None, progress=progress,
    )  # fmt: skip
    parameters = sum(p.numel() for p in built.model.parameters())
    report = RunReport(command, options.out_dir, result, corpus, data, parameters, built.info)
    publish_model(options.out_dir, built.write, {**report.to_json(), "run": run_info})
    return report
