"""``assistant finetune``: continue training a GPT-2-family model on a folder of documents.

Causal LM on packed blocks, optionally through LoRA adapters (peft). LoRA weights are merged
into every saved model, so the output loads with a plain ``from_pretrained``; the adapter
weights are kept beside each checkpoint so ``--resume`` continues the adapters themselves.
The base model is named and loaded exactly as everywhere else (``core.models.load_model``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from assistant.core.models import load_model
from assistant.errors import ModelLoadError, UsageError
from assistant.rag.loaders import DEFAULT_MAX_BYTES
from assistant.training.data import Split
from assistant.training.loop import LoopConfig
from assistant.training.pipeline import BuiltModel, RunPlan, run_training
from assistant.training.progress import TrainingProgress
from assistant.training.runs import RunReport

ADAPTER_FILE = "adapter.safetensors"
LORA_TARGETS = ["c_attn", "c_proj", "c_fc"]  # GPT-2's Conv1D layers (attention and MLP)
QA_EXAMPLES_PER_PASSAGE = 8  # default --qa-count per answerable passage (train uses 16)


@dataclass(frozen=True)
class FinetuneOptions:
    model: str
    data_dir: Path
    out_dir: Path
    steps: int = 500
    block_size: int = 256
    batch_size: int = 4
    lr: float = 0.0  # 0: 5e-5 for full fine-tuning, 1e-3 for LoRA
    seed: int = 0
    checkpoint_every: int = 100
    lora: bool = False
    lora_r: int = 8
    lora_alpha: int = 16
    qa_examples: bool = False
    qa_count: int = 0  # 0: QA_EXAMPLES_PER_PASSAGE per passage

    @property
    def learning_rate(self) -> float:
        return self.lr or (1e-3 if self.lora else 5e-5)

    def validate(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.lr < 0 or self.block_size < 2:
            raise UsageError("--steps, --batch-size, --block-size and --lr must be positive")
        if self.lora and (self.lora_r < 1 or self.lora_alpha < 1):
            raise UsageError("--lora-r and --lora-alpha must be positive")

    def run_plan(self) -> RunPlan:
        loop = LoopConfig(
            steps=self.steps,
            batch_size=self.batch_size,
            lr=self.learning_rate,
            seed=self.seed,
            checkpoint_every=self.checkpoint_every,
        )
        return RunPlan(loop, self.block_size, self.qa_examples, self.qa_count)


def load_base(name: str) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Model and tokenizer to train, named and loaded as the engine does: presets, 'bundled',
    folders and HF ids; the cache first, and a quick hub probe before any download."""
    try:
        loaded = load_model(name, allow_fallback=False, threads=torch.get_num_threads())
    except ModelLoadError as exc:
        if str(exc).startswith("cannot load model"):
            raise
        raise ModelLoadError(f"cannot load model {name!r}: {exc}") from exc
    model, tokenizer = loaded.model, loaded.tokenizer
    if tokenizer.eos_token_id is None:
        raise ModelLoadError(f"model {name!r} has a tokenizer without an end-of-text token")
    model.requires_grad_(True)  # the engine hands out frozen models, for inference
    return model, tokenizer


def _wrap_lora(model: PreTrainedModel, options: FinetuneOptions) -> torch.nn.Module:
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=options.lora_r,
        lora_alpha=options.lora_alpha,
        lora_dropout=0.0,
        target_modules=LORA_TARGETS,
        fan_in_fan_out=True,  # GPT-2 stores these weights transposed (Conv1D)
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def build_base_model(options: FinetuneOptions, split: Split, checkpoint: Path | None) -> BuiltModel:
    """The base model (or, resuming full fine-tuning, the checkpoint), with LoRA if asked."""
    if checkpoint is not None and not options.lora:
        model, tokenizer = load_base(str(checkpoint))
    else:
        model, tokenizer = load_base(options.model)
    trainable: torch.nn.Module = model
    if options.lora:
        trainable = _wrap_lora(model, options)
        if checkpoint is not None:
            from peft import set_peft_model_state_dict

            set_peft_model_state_dict(trainable, load_file(str(checkpoint / ADAPTER_FILE)))

    def write_model(folder: Path) -> None:
        if options.lora:
            from peft import get_peft_model_state_dict

            save_file(
                {
                    k: v.detach().contiguous()
                    for k, v in get_peft_model_state_dict(trainable).items()
                },
                str(folder / ADAPTER_FILE),
            )
            merged = copy.deepcopy(trainable).merge_and_unload()  # type: ignore[operator]
            merged.save_pretrained(folder)
        else:
            model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    info = {
        "base_model": options.model,
        "lora": options.lora,
        "trainable_parameters": sum(p.numel() for p in trainable.parameters() if p.requires_grad),
    }
    return BuiltModel(model, tokenizer, write_model, trainable, info)


def finetune(
    options: FinetuneOptions,
    resume: bool = False,
    steps_override: int | None = None,
    progress: TrainingProgress | None = None,
    max_file_bytes: int = DEFAULT_MAX_BYTES,
) -> RunReport:
    return run_training(
        "finetune",
        options,
        FinetuneOptions,
        build_base_model,
        qa_per_passage=QA_EXAMPLES_PER_PASSAGE,
        resume=resume,
        steps_override=steps_override,
        progress=progress,
        max_file_bytes=max_file_bytes,
    )
