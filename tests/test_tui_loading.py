"""Pilot tests of the loading header: each stage (model, embedder, index, tools) is shown as it
starts, makes progress and ends, with its time, while the session loads in its thread."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from assistant.chat.events import Notice
from assistant.chat.loading import LOAD_STAGES, LoadStage, StageCallback, StageClock
from assistant.tui import app as app_module
from assistant.tui.app import AssistantApp
from assistant.tui.widgets.cards import NoticeLine
from assistant.tui.widgets.header import StatusHeader, stage_text
from tests.test_tui_chat import wait_until
from tests.tui_fakes import FakeSession

SIZE = (140, 30)


class StagedSession(FakeSession):
    """Loads in stages the test lets through one at a time; the index reports progress."""

    def __init__(self, db_path: Path) -> None:
        super().__init__(db_path)
        self.gates = {name: threading.Event() for name in LOAD_STAGES}
        self.progressed = threading.Event()

    def load(self, on_stage: StageCallback | None = None) -> list[Notice]:
        for name in LOAD_STAGES:
            clock = StageClock(name, on_stage)
            if name == "index":
                clock.progress("2/5 files")
                self.progressed.set()
            if not self.gates[name].wait(30):
                clock.finish("failed", "the test never released it")
                continue
            clock.finish("failed" if name == "tools" else "done", "1/2 servers")
        return []


def make_app(tmp_path: Path) -> tuple[AssistantApp, StagedSession]:
    session = StagedSession(tmp_path / "history.db")

    def factory(approve: Any) -> StagedSession:
        session.approve = approve
        return session

    return AssistantApp(factory, export_dir=tmp_path), session


def header_text(app: AssistantApp) -> str:
    """The header's text, "" before the screen has composed it (a loaded machine gets here
    first: ``app.header`` would raise NoMatches)."""
    headers = app.query(StatusHeader)
    return str(headers.first().render()) if headers else ""


@pytest.mark.asyncio
async def test_header_shows_each_loading_stage_as_it_goes(tmp_path: Path) -> None:
    app, session = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "model …" in header_text(app))
        text = header_text(app)
        assert "loading" in text and "· embedder · index · tools" in text, text

        session.gates["model"].set()
        await wait_until(pilot, lambda: "embedder …" in header_text(app))
        text = header_text(app)
        assert "model ✓ " in text and " s · embedder … " in text, text

        session.gates["embedder"].set()
        await wait_until(pilot, session.progressed.is_set)
        await wait_until(pilot, lambda: "index … 2/5 files" in header_text(app))
        assert "embedder ✓" in header_text(app)

        session.gates["index"].set()
        await wait_until(pilot, lambda: "tools …" in header_text(app))
        assert not app.loaded.is_set()  # the app waits for the last stage

        session.gates["tools"].set()
        await wait_until(pilot, app.loaded.is_set)
        await pilot.pause()
        text = header_text(app)
        assert "ready" in text and "model ✓" not in text, text  # stages cleared once loaded


@pytest.mark.asyncio
async def test_a_slow_start_ends_with_a_notice_of_each_stage_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "SLOW_START_S", 0)  # every start counts as slow
    app, session = make_app(tmp_path)
    for gate in session.gates.values():
        gate.set()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, app.loaded.is_set)
        await pilot.pause()
        (notice,) = [
            str(n.render()) for n in app.query(NoticeLine) if "started in" in str(n.render())
        ]
        for name in ("model ✓", "embedder ✓", "index ✓", "tools ✗ 1/2 servers"):
            assert name in notice, notice


@pytest.mark.asyncio
async def test_a_narrow_terminal_still_shows_every_stage(tmp_path: Path) -> None:
    app, session = make_app(tmp_path)
    async with app.run_test(size=(72, 20)) as pilot:
        for name in ("model", "embedder"):
            session.gates[name].set()
        await wait_until(pilot, lambda: "index …" in header_text(app))
        text = header_text(app)
        assert len(text) <= 72 - 2, text  # within the header's padding
        assert "model ✓ · embedder ✓ · index … 2/5 files" in text and text.endswith("tools")
        session.gates["index"].set()
        session.gates["tools"].set()
        await wait_until(pilot, app.loaded.is_set)


def test_stage_text_of_each_state() -> None:
    assert stage_text(None, "index") == "index"
    assert stage_text(LoadStage("model", "done", 2.14, "bundled fallback"), "model") == (
        "model ✓ 2.1 s"
    )
    running = LoadStage("index", "running", 1.0, "12/40 files")
    assert stage_text(running, "index", now_s=0.5) == "index … 12/40 files 1.5 s"
    assert stage_text(LoadStage("embedder", "skipped"), "embedder") == "embedder –"
    failed = LoadStage("tools", "failed", 0.31, "0/2 servers")
    assert stage_text(failed, "tools") == "tools ✗ 0/2 servers 0.3 s"
    assert stage_text(failed, "tools", compact=True) == "tools ✗ 0/2 servers"
    assert stage_text(running, "index", compact=True) == "index … 12/40 files 1.0 s"
