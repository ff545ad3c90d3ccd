"""``assistant finetune``: continue training a GPT-2-family model on a folder of documents.

Causal LM on packed blocks, optionally through LoRA adapters (peft). LoRA weights are merged
into every saved model, so the output loads with a plain ``from_pretrained``; the adapter
weights are kept beside each checkpoint so ``--resume`` continues the adapters themselves.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from assistant.errors import ModelLoadError, UsageError
from assistant.training.data import read_documents, split_heldout
from assistant.training.loop import LoopConfig, train_loop
from assistant.training.progress import TrainingProgress
from assistant.training.runs import (
    RunReport,
    build_training_data,
    publish_model,
    report_skipped,
    resume_point,
    training_passages,
)

ADAPTER_FILE = "adapter.safetensors"
LORA_TARGETS = ["c_attn", "c_proj", "c_fc"]  # GPT-2's Conv1D layers (attention and MLP)


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
    qa_count: int = 0  # 0: about 8 per passage

    @property
    def learning_rate(self) -> float:
        return self.lr or (1e-3 if self.lora else 5e-5)

    def validate(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.lr < 0 or self.block_size < 2:
            raise UsageError("--steps, --batch-size, --block-size and --lr must be positive")
        if self.lora and (self.lora_r < 1 or self.lora_alpha < 1):
            raise UsageError("--lora-r and --lora-alpha must be positive")


def load_base(name_or_dir: str) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Model and tokenizer via from_pretrained (HF id or folder; HF_HUB_OFFLINE is honoured)."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_dir)
        model = AutoModelForCausalLM.from_pretrained(name_or_dir, dtype=torch.float32)
    except (OSError, ValueError, KeyError) as exc:
        hint = (
            "" if Path(name_or_dir).exists() else " (offline: use a local folder or a cached model)"
        )
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"cannot load model {name_or_dir!r}{hint}: {first_line}") from exc
    if tokenizer.eos_token_id is None:
        raise ModelLoadError(f"model {name_or_dir!r} has a tokenizer without an end-of-text token")
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


def finetune(
    options: FinetuneOptions,
    resume: bool = False,
    steps_override: int | None = None,
    progress: TrainingProgress | None = None,
) -> RunReport:
    options, checkpoint = resume_point(
        options, options.out_dir, resume, steps_override, FinetuneOptions
    )
    options.validate()
    corpus = read_documents(options.data_dir)
    split = split_heldout(corpus)
    report_skipped(corpus, progress)
    torch.manual_seed(options.seed)

    if checkpoint is not None and not options.lora:
        model, tokenizer = load_base(str(checkpoint))
    else:
        model, tokenizer = load_base(options.model)
    n_positions = int(getattr(model.config, "n_positions", 0) or options.block_size)
    block_size = min(options.block_size, n_positions)
    trainable: torch.nn.Module = model
    if options.lora:
        trainable = _wrap_lora(model, options)
        if checkpoint is not None:
            from peft import set_peft_model_state_dict

            set_peft_model_state_dict(trainable, load_file(str(checkpoint / ADAPTER_FILE)))

    qa_count = 0
    if options.qa_examples:
        qa_count = options.qa_count or 8 * sum(1 for p in training_passages(split) if p.sentences)
    data = build_training_data(split, tokenizer, block_size, qa_count, options.seed)

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

    config = LoopConfig(
        steps=options.steps,
        batch_size=options.batch_size,
        lr=options.learning_rate,
        seed=options.seed,
        checkpoint_every=options.checkpoint_every,
    )
    options_json = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()}
    run_info = {"command": "finetune", "options": options_json}
    result = train_loop(
        trainable, data.blocks, data.heldout, config, options.out_dir, write_model, run_info,
        resume=checkpoint is not None, progress=progress,
    )  # fmt: skip
    trainable_params = sum(p.numel() for p in trainable.parameters() if p.requires_grad)
    report = RunReport(
        "finetune",
        options.out_dir,
        result,
        corpus,
        data,
        sum(p.numel() for p in model.parameters()),
        info={
            "base_model": options.model,
            "lora": options.lora,
            "trainable_parameters": trainable_params,
        },
    )
    publish_model(options.out_dir, write_model, {**report.to_json(), "run": run_info})
    return report
