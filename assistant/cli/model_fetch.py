"""Downloading a model from the command line, only when asked: ``--download`` (for the
configured model, before any command) and ``assistant models --download NAME``.

What will be fetched is said first (name, size, where), a progress bar runs on stderr, and
Ctrl-C cancels: the download runs in a worker thread so the interrupt reaches us at once,
and huggingface_hub deletes the partial file when the worker stops.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.cli.common import notice
from assistant.errors import ModelLoadError

if TYPE_CHECKING:
    from assistant.core.model_download import DownloadPlan


def fetch_model(name: str) -> Path | None:
    """Download ``name`` into the HF cache unless it is there (or local); returns the
    snapshot folder, None when nothing had to be fetched."""
    from assistant.core.engine_factory import is_remote_model
    from assistant.core.model_download import is_cached, plan_download
    from assistant.core.models import hub_repo_id

    if is_remote_model(name):
        notice(f"{name} is served by a remote server: there is nothing to download")
        return None
    repo_id = hub_repo_id(name)
    if repo_id is None:
        return None
    if is_cached(repo_id):
        notice(f"{name} is already downloaded")
        return None
    plan = plan_download(name, repo_id)
    notice(f"downloading {plan.describe()}")
    folder = _download_with_bar(plan)
    notice(f"downloaded {name}: it now loads without the network")
    return folder


def _download_with_bar(plan: DownloadPlan) -> Path:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from assistant.core.model_download import download

    cancel = threading.Event()
    outcome: dict[str, object] = {}
    bar = Progress(
        "{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(plan.name, total=plan.total_bytes)

    def work() -> None:
        try:
            outcome["folder"] = download(
                plan,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                cancel=cancel,
            )
        except Exception as exc:  # handed to the main thread, which reports it
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="model-download", daemon=True)
    with bar:
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.2)
        except KeyboardInterrupt:
            cancel.set()
            notice("cancelling the download…")
            worker.join(60)
            raise
    error = outcome.get("error")
    if isinstance(error, Exception):
        if isinstance(error, ModelLoadError):
            raise error
        raise ModelLoadError(f"downloading {plan.name} failed: {error}") from error
    folder = outcome["folder"]
    assert isinstance(folder, Path)
    return folder
