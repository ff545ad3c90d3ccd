"""Downloading the configured model, against a real HTTP server laid out like the hub:
what a download would fetch, the fetch itself with progress, cancelling it midway, offline."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from assistant.core.model_download import (
    DownloadCancelled,
    download,
    format_bytes,
    is_cached,
    plan_download,
)
from assistant.core.models import BUNDLED_MODEL_DIR, load_model
from assistant.errors import ModelLoadError
from tests.hub_support import REPO_ID, OnlineHub, online_hub, start_hub

__all__ = ["online_hub"]  # the fixture, imported for pytest

WANTED = {
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "model.safetensors",
}


def test_the_plan_names_only_the_files_from_pretrained_reads(online_hub: OnlineHub) -> None:
    plan = plan_download("gpt2", REPO_ID)
    assert plan.repo_id == REPO_ID
    assert {name for name, _ in plan.files} == WANTED  # no README, TF or Flax weights
    sizes = dict(plan.files)
    assert sizes["model.safetensors"] == (BUNDLED_MODEL_DIR / "model.safetensors").stat().st_size
    assert plan.total_bytes == sum((BUNDLED_MODEL_DIR / n).stat().st_size for n in WANTED)
    assert plan.cache_dir == online_hub.cache
    assert plan.size_text in plan.describe() and str(online_hub.cache) in plan.describe()
    assert online_hub.hub.downloaded() == []  # metadata only


def test_download_fills_the_cache_reports_progress_and_then_loads(
    online_hub: OnlineHub,
) -> None:
    plan = plan_download("gpt2", REPO_ID)
    assert not is_cached(REPO_ID)
    heard: list[tuple[int, int]] = []
    folder = download(plan, progress=lambda done, total: heard.append((done, total)))
    assert {p.name for p in folder.iterdir()} == WANTED
    assert sorted(online_hub.hub.downloaded()) == sorted(WANTED)  # each once, nothing else
    assert is_cached(REPO_ID)
    assert heard and heard[-1] == (plan.total_bytes, plan.total_bytes)
    done = [d for d, _ in heard]
    assert done == sorted(done)
    loaded = load_model("gpt2")  # local-only loading now finds it
    assert not loaded.is_fallback and loaded.source == REPO_ID


def test_cancelling_midway_leaves_no_partial_file_and_a_retry_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server sends the first MB of the weights, then holds the rest until released.
    online = start_hub(tmp_path, monkeypatch, gate_after=1_000_000)
    try:
        plan = plan_download("gpt2", REPO_ID)
        cancel = threading.Event()
        outcome: list[BaseException | None] = []

        def run() -> None:
            try:
                download(plan, cancel=cancel)
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        assert online.hub.gate_reached.wait(30), "the weights download never started"
        cancel.set()
        online.hub.release.set()
        worker.join(60)
        assert len(outcome) == 1 and isinstance(outcome[0], DownloadCancelled)
        assert not is_cached(REPO_ID)
        leftovers = [p.name for p in online.blobs() if p.stat().st_size > 1_000_000]
        assert leftovers == []  # no partial weights, under any name
        assert not list(online.cache.rglob("*.incomplete"))
        online.hub.gate_after = None
        download(plan)  # a second try starts clean and completes
        assert is_cached(REPO_ID)
    finally:
        online.hub.close()


def test_offline_there_is_no_plan_and_loading_falls_back_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="offline"):
        plan_download("gpt2", REPO_ID)
    loaded = load_model("gpt2")
    assert loaded.is_fallback and loaded.notice and "\n" not in loaded.notice


def test_a_hub_without_the_model_is_one_clear_error(online_hub: OnlineHub) -> None:
    with pytest.raises(ModelLoadError, match="no model 'someone/missing'"):
        plan_download("someone/missing", "someone/missing")


def test_sizes_read_as_the_hub_shows_them() -> None:
    assert format_bytes(548_105_171) == "548 MB"
    assert format_bytes(6_255_632) == "6.3 MB"
    assert format_bytes(999) == "999 B"
    assert format_bytes(6_430_000_000) == "6.4 GB"


def test_a_malformed_model_id_is_one_clear_error(online_hub: OnlineHub) -> None:
    with pytest.raises(ModelLoadError, match="not a hub model id"):
        plan_download("two words", "two words")
