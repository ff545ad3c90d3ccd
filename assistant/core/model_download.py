"""Fetching a hub model the user agreed to download: what it costs, and the download itself.

No UI here: ``plan_download`` asks the hub for the files ``from_pretrained`` will need (with
their sizes), ``download`` fetches exactly those through huggingface_hub's ``snapshot_download``
into the HF cache, reporting bytes as they arrive and stopping when a ``threading.Event`` is
set. huggingface_hub writes each file to a temporary name and renames it when complete (and
deletes the temporary file when a download fails), so a cancelled download leaves no partial
file: the model simply stays "not downloaded".
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.std import tqdm

from assistant.errors import AssistantError, ModelLoadError

# What transformers' AutoTokenizer / AutoModelForCausalLM read for a GPT-2-family repo. The
# hub repos also hold TF, Flax, ONNX, Rust and tflite weights (gpt2: ~3 GB of them) we skip.
CONFIG_FILES = ("config.json", "generation_config.json")
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.json",
    "merges.txt",
    "special_tokens_map.json",
    "added_tokens.json",
)
# One weights format, in order of preference: safetensors (single or sharded), else PyTorch.
WEIGHT_CHOICES = (
    ("model.safetensors",),
    ("model.safetensors.index.json", "model-*-of-*.safetensors"),
    ("pytorch_model.bin",),
    ("pytorch_model.bin.index.json", "pytorch_model-*-of-*.bin"),
)
CACHED_MARKERS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")

ProgressFn = Callable[[int, int], None]  # (bytes done, bytes in all)


class DownloadCancelled(AssistantError):
    """The user cancelled the download (raised from inside huggingface_hub's loop)."""


@dataclass(frozen=True)
class DownloadPlan:
    """What downloading one model means: which files, how many bytes, and where they go."""

    name: str  # what the user configured ("gpt2")
    repo_id: str  # the hub repository ("openai-community/gpt2")
    revision: str  # the commit the sizes were listed at
    files: tuple[tuple[str, int], ...]  # (path in the repo, bytes)
    cache_dir: Path  # the HF hub cache the files go into

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.files)

    @property
    def size_text(self) -> str:
        return format_bytes(self.total_bytes)

    def describe(self) -> str:
        """One line: "gpt2 (openai-community/gpt2, 551 MB, 5 files) into ~/.cache/…"."""
        return (
            f"{self.name} ({self.repo_id}, {self.size_text}, {len(self.files)} files) "
            f"into {self.cache_dir}"
        )


def format_bytes(count: int) -> str:
    """Decimal units, as the hub shows sizes: 548 MB, 1.4 MB, 6.5 GB."""
    value = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            if unit == "B":
                return f"{int(value)} B"
            return f"{value:.0f} {unit}" if value >= 100 else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"  # pragma: no cover - the loop always returns


def hub_disabled() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set: nothing may reach the hub. The
    ``offline = true`` setting sets HF_HUB_OFFLINE for the whole process (the CLI does)."""
    flags = (os.environ.get(name, "") for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
    return any(flag.lower() in {"1", "true", "yes", "on"} for flag in flags)


def hub_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def is_cached(repo_id: str) -> bool:
    """Config and weights of ``repo_id`` are in the local HF cache (no network)."""
    from huggingface_hub import try_to_load_from_cache

    def cached(filename: str) -> bool:
        return isinstance(try_to_load_from_cache(repo_id, filename), str)

    return cached("config.json") and any(cached(f) for f in CACHED_MARKERS)


def choose_files(available: Iterable[str]) -> list[str]:
    """The repo files from_pretrained needs: configs, tokenizer files, one weights format."""
    from fnmatch import fnmatch

    names = sorted(set(available))
    chosen = [n for n in names if n in CONFIG_FILES or n in TOKENIZER_FILES]
    for patterns in WEIGHT_CHOICES:
        if patterns[0] in names:
            chosen += [n for n in names if any(fnmatch(n, p) for p in patterns)]
            break
    return chosen


def plan_download(name: str, repo_id: str, *, timeout: float = 10.0) -> DownloadPlan:
    """Ask the hub which files ``repo_id`` (configured as ``name``) needs and how big they
    are (one metadata request). ``models.hub_repo_id`` maps a model setting to its repo."""
    if hub_disabled():
        raise ModelLoadError("offline (HF_HUB_OFFLINE is set): cannot reach the model hub")
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError

    try:
        info = HfApi().model_info(repo_id, files_metadata=True, timeout=timeout)
    except HFValidationError as exc:
        raise ModelLoadError(f"{repo_id!r} is not a hub model id: {_first_line(exc)}") from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise ModelLoadError(f"the hub has no model {repo_id!r} (HTTP {status})") from exc
    except Exception as exc:  # httpx's network errors: one line, never a traceback
        raise ModelLoadError(f"cannot reach the model hub: {_first_line(exc)}") from exc
    sizes = {s.rfilename: int(s.size or 0) for s in info.siblings or []}
    files = choose_files(sizes)
    if not any(f.endswith((".safetensors", ".bin")) for f in files):
        raise ModelLoadError(f"{repo_id} has no PyTorch or safetensors weights to download")
    return DownloadPlan(
        name=name,
        repo_id=repo_id,
        revision=str(info.sha),
        files=tuple((f, sizes[f]) for f in files),
        cache_dir=hub_cache_dir(),
    )


def download(
    plan: DownloadPlan,
    *,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Fetch the plan's files into the HF cache; returns the snapshot folder. Raises
    DownloadCancelled once ``cancel`` is set (checked with every chunk received, 10 MB in
    huggingface_hub), ModelLoadError when the download fails."""
    from huggingface_hub import snapshot_download

    stop = cancel or threading.Event()
    hook = _progress_class(plan.total_bytes, progress, stop)
    try:
        folder = snapshot_download(
            plan.repo_id,  # the default branch: its ref is what from_pretrained looks up
            allow_patterns=[name for name, _ in plan.files],
            tqdm_class=hook,
            max_workers=4,
        )
    except DownloadCancelled:
        raise
    except Exception as exc:  # network, disk full, a consistency check: one line
        if stop.is_set():
            raise DownloadCancelled("download cancelled") from exc
        raise ModelLoadError(f"downloading {plan.repo_id} failed: {_first_line(exc)}") from exc
    if stop.is_set():
        raise DownloadCancelled("download cancelled")
    if progress is not None:
        progress(plan.total_bytes, plan.total_bytes)
    return Path(folder)


class _Sink:
    """Where the hook's bars draw: nowhere (the caller shows progress its own way)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        return None


def _progress_class(total: int, progress: ProgressFn | None, cancel: threading.Event) -> Any:
    """A tqdm class for snapshot_download that reports bytes and raises when cancelled.

    snapshot_download feeds every received chunk to two byte bars (bytes transferred and
    bytes written; equal over plain HTTP) and counts files on a third; the largest byte count
    is what has arrived. A plain tqdm subclass (not huggingface_hub's) is never disabled by
    the TTY detection, so every update reaches this hook."""
    lock = threading.Lock()
    byte_counts: dict[int, int] = {}

    class DownloadHook(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.pop("name", None)
            kwargs.update(file=_Sink(), disable=False, mininterval=0.0)
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1) -> bool | None:
            if cancel.is_set():
                raise DownloadCancelled("download cancelled")
            shown = super().update(n)
            if self.unit == "B" and progress is not None:
                with lock:
                    byte_counts[id(self)] = int(self.n)
                    done = max(byte_counts.values())
                progress(min(done, total), total)
            return shown

    return DownloadHook


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]
