"""The first run without the configured model (gpt2), against a real HTTP hub stand-in:
the chat offers the download (declined: nothing fetched; accepted: progress, then the new
engine and a notice; cancelled: the bundled model keeps answering), offline it says so once,
and ``ask`` never downloads without ``--download``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.chat.components import Components
from assistant.chat.first_run import DOWNLOAD_STAGE, FirstRun
from assistant.chat.loading import LoadStage
from assistant.core.model_download import is_cached
from assistant.settings import Settings, load_settings
from tests.hub_support import REPO_ID, OnlineHub, online_hub, start_hub

__all__ = ["online_hub"]  # the fixture, imported for pytest


def settings(**values: object) -> Settings:
    return load_settings({"model": "gpt2", **values})


def first_run(config: Settings) -> tuple[Components, FirstRun]:
    parts = Components(config)
    parts.engine()  # gpt2 is not cached: the bundled model loads, with its fallback notice
    assert parts.engine().loaded.is_fallback
    run = FirstRun(config, parts)
    run.check()
    return parts, run


def test_offline_it_says_once_in_one_line_that_the_bundled_model_answers() -> None:
    parts, run = first_run(settings())  # the tests' HF_HUB_OFFLINE=1
    assert run.offer is None and run.handled
    assert len(parts.notices) == 1, parts.notices
    line = parts.notices[0].text
    assert "bundled" in line and "offline" in line and "\n" not in line


def test_the_offline_setting_makes_no_offer_even_with_a_hub(online_hub: OnlineHub) -> None:
    parts, run = first_run(settings(offline=True))
    assert run.offer is None and [n.text for n in parts.notices] == [
        "using the bundled course model: gpt2 is not downloaded (offline)"
    ]
    assert online_hub.hub.downloaded() == []


def test_the_offline_setting_keeps_the_cli_off_the_hub(online_hub: OnlineHub) -> None:
    """The CLI applies ``offline = true`` as HF_HUB_OFFLINE for the whole process."""
    env = {**online_hub.env(), "ASSISTANT_OFFLINE": "true"}
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", "probs", "hello", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["fallback"] is True
    assert "offline" in proc.stderr and online_hub.hub.requests == []


def test_the_offer_comes_once_as_soon_as_the_model_stage_ends(online_hub: OnlineHub) -> None:
    parts = Components(settings())
    parts.engine()
    run = FirstRun(parts.settings, parts)
    offers: list[object] = []
    run.on_offer = offers.append
    heard: list[LoadStage] = []
    watch = run.watch(heard.append)
    watch(LoadStage("model", "running"))
    assert offers == []
    watch(LoadStage("model", "done", 1.0, "bundled fallback"))
    assert offers == [run.offer] and run.offer is not None
    watch(LoadStage("index", "done"))
    run.check()  # again: nothing new
    assert len(offers) == 1 and [s.name for s in heard] == ["model", "model", "index"]


def test_declining_the_offer_downloads_nothing(online_hub: OnlineHub) -> None:
    parts, run = first_run(settings())
    assert run.offer is not None and parts.notices == []  # the offer replaces the notice
    plan = run.offer.plan
    text = " ".join(run.offer.lines)
    assert plan.size_text in text and str(online_hub.cache) in text and REPO_ID in text
    assert "/download" in run.declined().text
    assert online_hub.hub.downloaded() == [] and online_hub.blobs() == []
    assert parts.engine().loaded.is_fallback


def test_accepting_downloads_with_progress_and_switches_the_engine(
    online_hub: OnlineHub,
) -> None:
    parts, run = first_run(settings())
    bundled = parts.engine()
    heard: list[LoadStage] = []
    assert run.start(heard.append)
    assert run.wait(120)
    assert [s.name for s in heard] == [DOWNLOAD_STAGE] * len(heard)
    assert heard[0].state == "running" and heard[-1].state == "done", heard
    assert "switched to gpt2" in heard[-1].detail
    assert any("100%" in s.detail for s in heard), [s.detail for s in heard]
    engine = parts.engine()
    assert engine is not bundled and not engine.loaded.is_fallback
    assert engine.loaded.source == REPO_ID and is_cached(REPO_ID)
    assert run.offer is None


def test_cancelling_midway_keeps_the_bundled_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    online = start_hub(tmp_path, monkeypatch, gate_after=1_000_000)
    try:
        parts, run = first_run(settings())
        bundled = parts.engine()
        heard: list[LoadStage] = []
        assert run.start(heard.append)
        assert online.hub.gate_reached.wait(30)
        assert run.cancel()
        online.hub.release.set()
        assert run.wait(60)
        assert heard[-1].state == "failed" and "cancelled" in heard[-1].detail
        assert parts.engine() is bundled and not is_cached(REPO_ID)
        assert not list(online.cache.rglob("*.incomplete"))
        assert run.offer is not None  # /download can offer it again
    finally:
        online.hub.close()


def _cli(online: OnlineHub, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *argv],
        capture_output=True,
        text=True,
        env=online.env(),
        timeout=300,
    )


def test_ask_without_download_never_downloads_and_says_so_in_one_line(
    online_hub: OnlineHub,
) -> None:
    proc = _cli(online_hub, "ask", "what is greedy decoding?", "--no-tools", "--no-rag")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "gpt2" in line]
    assert len(lines) == 1 and "not downloaded yet" in lines[0], proc.stderr
    assert "--download" in lines[0]
    assert online_hub.hub.downloaded() == [] and online_hub.blobs() == []


def test_download_flag_fetches_then_the_command_uses_the_model(online_hub: OnlineHub) -> None:
    proc = _cli(online_hub, "probs", "hello", "--json", "--download")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["model"] == "gpt2" and data["source"] == REPO_ID and not data["fallback"]
    assert "downloading gpt2 (openai-community/gpt2" in proc.stderr
    assert sorted(online_hub.hub.downloaded()) == sorted(
        name for name, _ in _plan_files(online_hub)
    )


def _plan_files(online: OnlineHub) -> list[tuple[str, int]]:
    from assistant.core.model_download import plan_download

    return list(plan_download("gpt2", REPO_ID).files)


def test_ctrl_c_cancels_a_cli_download_and_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal

    online = start_hub(tmp_path, monkeypatch, gate_after=1_000_000)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "models", "--download", "gpt2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=online.env(),
        )
        assert online.hub.gate_reached.wait(120), "the weights download never started"
        proc.send_signal(signal.SIGINT)
        online.hub.release.set()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        assert "downloading gpt2 (openai-community/gpt2" in err and "cancelling" in err
        assert "Traceback" not in err
        assert not is_cached(REPO_ID) and not list(online.cache.rglob("*.incomplete"))
    finally:
        online.hub.close()
