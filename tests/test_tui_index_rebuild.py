"""Pilot test of a background index rebuild in the header: the index stage says why, the chat
becomes ready while the rebuild's progress stays in the header, and its end is a notice."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from assistant.chat.events import Notice
from assistant.chat.loading import LOAD_STAGES, REBUILD_STAGE, StageCallback, StageClock
from assistant.tui.app import AssistantApp
from assistant.tui.widgets.cards import NoticeLine
from tests.test_tui_chat import wait_until
from tests.tui_fakes import FakeSession

SIZE = (160, 30)


class RebuildingSession(FakeSession):
    """Loads at once; its index is rebuilt in a thread the test lets on step by step."""

    def __init__(self, db_path: Path) -> None:
        super().__init__(db_path)
        self.step = threading.Semaphore(0)

    def load(self, on_stage: StageCallback | None = None) -> list[Notice]:
        for name in LOAD_STAGES:
            clock = StageClock(name, on_stage)
            clock.finish(
                *(("failed", "built with m1: rebuilding") if name == "index" else ("done",))
            )
        rebuild = StageClock(REBUILD_STAGE, on_stage)

        def run() -> None:
            for done in (3, 7):
                assert self.step.acquire(timeout=30)
                rebuild.progress(f"{done}/7 files", final=True)
            assert self.step.acquire(timeout=30)
            rebuild.finish("done", "7 files, 40 passages")

        threading.Thread(target=run, daemon=True).start()
        return [Notice("the index was built with m1; … rebuilding it in the background", "warning")]


def header_text(app: AssistantApp) -> str:
    return str(app.header.render())


@pytest.mark.asyncio
async def test_header_shows_a_background_rebuild_after_the_chat_is_ready(tmp_path: Path) -> None:
    session = RebuildingSession(tmp_path / "history.db")

    def factory(approve: Any) -> RebuildingSession:
        session.approve = approve
        return session

    app = AssistantApp(factory, export_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, app.loaded.is_set)
        await wait_until(pilot, lambda: "ready" in header_text(app))
        text = header_text(app)
        assert "index rebuild …" in text and "loading" not in text, text
        session.step.release()
        await wait_until(pilot, lambda: "index rebuild … 3/7 files" in header_text(app))
        assert "ready" in header_text(app)
        session.step.release()
        await wait_until(pilot, lambda: "index rebuild … 7/7 files" in header_text(app))
        session.step.release()
        await wait_until(pilot, lambda: "index rebuild" not in header_text(app))
        notices = [str(n.render()) for n in app.query(NoticeLine)]
        assert any("rebuilding it in the background" in n for n in notices), notices
        assert any(
            "index rebuilt (7 files, 40 passages): answers cite sources again" in n for n in notices
        ), notices
