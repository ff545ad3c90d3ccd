"""Resolve a model name, load tokenizer + model once, fall back to the bundled model offline."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from assistant.errors import ModelLoadError

log = logging.getLogger(__name__)

BUNDLED_MODEL_DIR = Path(__file__).resolve().parent.parent / "resources" / "model"
BUNDLED_NAME = "bundled"


@dataclass(frozen=True)
class Preset:
    name: str
    hf_id: str
    parameters: str
    note: str


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("distilgpt2", "distilbert/distilgpt2", "82M", "distilled GPT-2, fastest"),
        Preset("gpt2", "openai-community/gpt2", "124M", "GPT-2 small, the default"),
        Preset("gpt2-medium", "openai-community/gpt2-medium", "355M", "GPT-2 medium"),
        Preset("gpt2-large", "openai-community/gpt2-large", "774M", "GPT-2 large"),
        Preset("gpt2-xl", "openai-community/gpt2-xl", "1.5B", "GPT-2 XL, slow on a laptop CPU"),
        Preset("dialogpt-small", "microsoft/DialoGPT-small", "124M", "GPT-2 tuned on Reddit chats"),
        Preset("dialogpt-medium", "microsoft/DialoGPT-medium", "355M", "DialoGPT medium"),
    )
}


def resolve_model_name(name: str | None) -> str:
    """Map a preset name, 'bundled', a local directory or an HF id to what from_pretrained takes."""
    if not name or name == BUNDLED_NAME:
        return str(BUNDLED_MODEL_DIR)
    key = name.lower()
    if key in PRESETS:
        return PRESETS[key].hf_id
    for preset in PRESETS.values():  # "microsoft/DialoGPT-small" spelled in any case
        if preset.hf_id.lower() == key:
            return preset.hf_id
    path = Path(name).expanduser()
    if path.exists() or name.startswith((".", "/", "~")):
        if not path.is_dir():
            raise ModelLoadError(f"model path {path} is not a directory")
        return str(path.resolve())
    return name


def hub_repo_id(name: str | None) -> str | None:
    """The hub repository a model setting names, or None for the bundled model or a local
    directory (nothing to download)."""
    source = resolve_model_name(name)
    return None if Path(source).is_dir() else source


def default_threads() -> int:
    """One thread per physical core but one (kept for the UI, the embedder, the tokenizer),
    at most 4. A second OpenMP thread per core only hurts, and OpenMP threads that must wait
    for a busy core stall every matmul: on a loaded 2-core machine, GPT-2 small decoded at
    7.0 tok/s with 1 thread and 1.5 with 2 (int8: 47 vs 4.3; benchmarks/generate.py)."""
    logical = os.cpu_count() or 1
    physical = max(1, logical // 2) if logical > 2 else logical
    return max(1, min(4, physical - 1))


def configure_threads(threads: int) -> int:
    chosen = threads if threads > 0 else default_threads()
    if torch.get_num_threads() != chosen:
        torch.set_num_threads(chosen)
    return chosen


def hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP probe of the hub endpoint. Without it an offline laptop waits ~45 s in
    huggingface_hub's retry loop before we can fall back."""
    from urllib.parse import urlparse

    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


class ModelNotDownloaded(ModelLoadError):
    """A hub model that is not in the local cache. Loading never downloads: that takes the
    user's yes (the chat's offer, ``--download``, ``assistant models --download``)."""

    def __init__(self, reason: str, *, online: bool) -> None:
        super().__init__(reason)
        self.online = online  # the hub answered: a download is one command away


def _from_pretrained(source: str) -> tuple[Any, Any]:
    """Load tokenizer + model from a local directory or the local HF cache, never the hub."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            source, local_files_only=True, dtype=torch.float32
        )
        return tokenizer, model
    except (OSError, ValueError, EnvironmentError) as exc:  # noqa: UP024 - HF raises both
        from assistant.core.model_download import is_cached

        if Path(source).is_dir() or is_cached(source):
            raise ModelLoadError(_first_line(exc)) from exc
        raise _not_downloaded(source) from exc


def _not_downloaded(repo_id: str) -> ModelNotDownloaded:
    """Why a hub model cannot load, with its download size when the hub answers at once."""
    from assistant.core.model_download import hub_disabled, plan_download

    if hub_disabled():
        return ModelNotDownloaded("not downloaded (offline: HF_HUB_OFFLINE is set)", online=False)
    if not hub_reachable():
        return ModelNotDownloaded(
            "not in the local Hugging Face cache and the hub is unreachable", online=False
        )
    try:
        size = f" ({plan_download(repo_id, repo_id, timeout=3.0).size_text})"
    except ModelLoadError:
        size = ""
    return ModelNotDownloaded(f"not downloaded yet{size}", online=True)


def _first_line(exc: Exception | None) -> str:
    text = str(exc).strip().splitlines()[0] if exc and str(exc).strip() else repr(exc)
    return text[:300]


def conv1d_to_linear(model: nn.Module) -> nn.Module:
    """Swap GPT-2's Conv1D layers for equivalent nn.Linear (transposed weights) in place,
    so torch's dynamic quantization (which only knows Linear) can reach them."""
    from transformers.pytorch_utils import Conv1D

    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, Conv1D):
                linear = nn.Linear(child.nx, child.nf)
                linear.weight = nn.Parameter(child.weight.detach().t().contiguous())
                linear.bias = nn.Parameter(child.bias.detach().clone())
                setattr(parent, child_name, linear)
    return model


def quantize_int8(model: nn.Module) -> nn.Module:
    """Dynamic int8 weights for every Linear (incl. the tied LM head, which gets its own copy)."""
    conv1d_to_linear(model)
    head = getattr(model, "lm_head", None)
    if isinstance(head, nn.Linear):  # untie so quantizing the head leaves the embedding fp32
        new_head = nn.Linear(head.in_features, head.out_features, bias=head.bias is not None)
        new_head.weight = nn.Parameter(head.weight.detach().clone())
        if head.bias is not None:
            new_head.bias = nn.Parameter(head.bias.detach().clone())
        model.lm_head = new_head
    import warnings

    from torch.ao.quantization import quantize_dynamic

    # torch marks eager dynamic quantization deprecated in favour of torchao; it is still the
    # only int8 path in the pinned torch 2.13 that needs no extra package.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        return quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    name: str  # what the user asked for
    source: str  # what was loaded (HF id or directory)
    is_fallback: bool = False
    notice: str | None = None  # one line for the user when the fallback is in use
    quantized: bool = False

    @property
    def is_bundled(self) -> bool:
        return self.source == str(BUNDLED_MODEL_DIR)

    @property
    def context_length(self) -> int:
        config = self.model.config
        return int(getattr(config, "n_positions", None) or config.max_position_embeddings)


def download_hint(requested: str) -> str:
    return f"get it: add --download, or run: assistant models --download {requested}"


def fallback_notice(requested: str, reason: str, *, online: bool = False) -> str:
    """The one line saying the bundled model answers instead of ``requested``."""
    if online:
        return (
            f"{requested} is {reason}; using the bundled course model ({download_hint(requested)})"
        )
    return (
        f"model {requested!r} is not available here ({reason}); using the bundled course model "
        f"instead. To get the real one, run with network access: assistant models --download "
        f"{requested}"
    )


def load_model(
    name: str | None,
    *,
    allow_fallback: bool = True,
    quantize: str = "none",
    threads: int = 0,
) -> LoadedModel:
    """Load once, in eval mode. Falls back to the bundled model (with a notice) if allowed."""
    configure_threads(threads)
    requested = name or BUNDLED_NAME
    source = resolve_model_name(name)
    is_fallback, notice = False, None
    try:
        tokenizer, model = _from_pretrained(source)
    except ModelLoadError as exc:
        bundled = BUNDLED_MODEL_DIR
        online = isinstance(exc, ModelNotDownloaded) and exc.online
        if source == str(bundled) or not allow_fallback or not (bundled / "config.json").is_file():
            hint = "" if source == str(bundled) else " (no bundled fallback available)"
            if online:
                hint = f": {download_hint(requested)}"
            raise ModelLoadError(f"cannot load model {requested!r}: {exc}{hint}") from exc
        notice = fallback_notice(requested, str(exc), online=online)
        log.info(notice)  # callers show the notice once, in their own way
        tokenizer, model = _from_pretrained(str(bundled))
        source, is_fallback = str(bundled), True
    model.eval()
    model.requires_grad_(False)
    if getattr(model.config, "model_type", "") not in {"gpt2"}:
        log.info(
            "model type %s is not GPT-2; the engine treats it as a causal LM",
            model.config.model_type,
        )
    quantized = False
    if quantize == "int8":
        model = quantize_int8(model)
        quantized = True
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        name=requested,
        source=source,
        is_fallback=is_fallback,
        notice=notice,
        quantized=quantized,
    )


def cached_presets() -> dict[str, bool]:
    """Which presets are already in the local Hugging Face cache (no network)."""
    from huggingface_hub import try_to_load_from_cache

    found = {}
    for preset in PRESETS.values():
        hit = try_to_load_from_cache(preset.hf_id, "config.json")
        found[preset.name] = isinstance(hit, str)
    return found


def quiet_transformers() -> None:
    """No progress bars or advisory warnings from transformers on our terminal output."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def download_model(name: str) -> str:
    """Fetch a hub model's files into the HF cache (no progress shown; see model_download)."""
    from assistant.core.model_download import download, hub_disabled, plan_download

    if hub_disabled():
        raise ModelLoadError(
            "HF_HUB_OFFLINE is set: unset it (and connect to the network) to download models"
        )
    repo_id = hub_repo_id(name)
    if repo_id is None:
        return resolve_model_name(name)
    return str(download(plan_download(name, repo_id)))
