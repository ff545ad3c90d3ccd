"""Atomic training checkpoints: a killed run always leaves the previous or the new one.

Layout under the output folder::

    checkpoints/step-00000500/   model + tokenizer (loadable with from_pretrained),
                                 optimizer.safetensors, optimizer.json, training_state.json
    checkpoints/latest           name of the newest complete checkpoint

A checkpoint is written into a hidden temporary folder, renamed into place, and only then
named in ``latest`` (itself replaced atomically); older checkpoints are removed last.
Everything is safetensors or JSON, so loading never unpickles anything.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from assistant.errors import DataError

CHECKPOINTS = "checkpoints"
LATEST = "latest"
STATE_FILE = "training_state.json"
OPTIMIZER_TENSORS = "optimizer.safetensors"
OPTIMIZER_GROUPS = "optimizer.json"


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def save_checkpoint(
    out_dir: Path,
    step: int,
    write_model: Callable[[Path], None],
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
) -> Path:
    """Write checkpoint ``step`` atomically and make it the latest; return its folder."""
    root = out_dir / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:08d}"
    tmp = root / f".tmp-{name}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    write_model(tmp)
    _save_optimizer(optimizer, tmp)
    (tmp / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    final = root / name
    if final.exists():
        shutil.rmtree(final)
    os.rename(tmp, final)
    latest_tmp = root / f".{LATEST}.tmp"
    latest_tmp.write_text(name + "\n", encoding="utf-8")
    os.replace(latest_tmp, root / LATEST)
    for old in root.iterdir():
        if old.name not in (name, LATEST) and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(out_dir: Path) -> Path | None:
    pointer = out_dir / CHECKPOINTS / LATEST
    if not pointer.is_file():
        return None
    folder = out_dir / CHECKPOINTS / pointer.read_text(encoding="utf-8").strip()
    return folder if (folder / STATE_FILE).is_file() else None


def read_state(checkpoint: Path) -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads((checkpoint / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read training state in {checkpoint}: {exc}") from exc
    return state


def _save_optimizer(optimizer: torch.optim.Optimizer, folder: Path) -> None:
    sd = optimizer.state_dict()
    tensors = {
        f"{index}.{key}": value.detach().contiguous()
        for index, per_param in sd["state"].items()
        for key, value in per_param.items()
        if isinstance(value, torch.Tensor)
    }
    save_file(tensors, str(folder / OPTIMIZER_TENSORS))
    (folder / OPTIMIZER_GROUPS).write_text(json.dumps(sd["param_groups"]) + "\n", encoding="utf-8")


def load_optimizer(optimizer: torch.optim.Optimizer, checkpoint: Path) -> None:
    """Restore AdamW moments and hyperparameters saved by ``save_checkpoint``."""
    tensors = load_file(str(checkpoint / OPTIMIZER_TENSORS))
    groups = json.loads((checkpoint / OPTIMIZER_GROUPS).read_text(encoding="utf-8"))
    for group in groups:
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": groups})
