"""Pilot tests of the first-run download offer: the dialog names the model, its size and
where it goes; yes downloads (from a real HTTP hub stand-in) with the progress in the header,
then the header and a notice say the chat switched; no keeps the bundled model."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from assistant.chat.components import Components
from assistant.chat.events import Notice
from assistant.chat.first_run import FirstRun
from assistant.chat.loading import StageCallback, StageClock
from assistant.chat.model_info import ModelInfo
from assistant.settings import load_settings
from assistant.tui.app import AssistantApp
from assistant.tui.screens.model_download import ModelDownloadScreen
from assistant.tui.widgets.cards import NoticeLine
from tests.hub_support import REPO_ID, OnlineHub, online_hub
from tests.test_tui_chat import app_of, wait_until
from tests.tui_fakes import FakeSession

__all__ = ["online_hub"]
SIZE = (160, 30)


class FirstRunSession(FakeSession):
    """Scripted turns, but the real model loading and first-run check of the chat."""

    def __init__(self, db_path: Path) -> None:
        super().__init__(db_path)
        self.parts = Components(load_settings({"model": "gpt2"}))
        self.first_run = FirstRun(self.parts.settings, self.parts)

    def load(self, on_stage: StageCallback | None = None) -> list[Notice]:
        self.parts.engine()
        self.first_run.check()
        notices, self.parts.notices = self.parts.notices, []
        return notices

    def model_info(self) -> ModelInfo | None:
        return self.parts.model_info()


def notices(app: AssistantApp) -> list[str]:
    return [str(n.render()) for n in app.query(NoticeLine)]


def offer_shown(app: AssistantApp) -> bool:
    """The offer dialog is on top and composed: being pushed is not yet having its lines."""
    screen = app.screen
    return isinstance(screen, ModelDownloadScreen) and bool(screen.query("#download-line-0"))


async def open_app(tmp_path: Path) -> tuple[AssistantApp, FirstRunSession]:
    session = FirstRunSession(tmp_path / "history.db")
    return app_of(session, tmp_path), session


@pytest.mark.asyncio
async def test_yes_downloads_shows_progress_and_switches(
    tmp_path: Path, online_hub: OnlineHub
) -> None:
    app, session = await open_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: offer_shown(app))
        text = " ".join(str(s.render()) for s in app.screen.query(Static))
        assert "gpt2" in text and REPO_ID in text and str(online_hub.cache) in text, text
        assert session.first_run.offer is not None
        assert session.first_run.offer.plan.size_text in text
        await wait_until(pilot, app.loaded.is_set)
        assert app.header.fallback  # the bundled model answers meanwhile
        heard: list[str] = []
        original = app.header.show_stage

        def spy(stage: Any) -> None:
            heard.append(f"{stage.name} {stage.state} {stage.detail}")
            original(stage)

        app.header.show_stage = spy  # type: ignore[method-assign]
        await pilot.press("y")
        await wait_until(pilot, lambda: any("switched to gpt2" in n for n in notices(app)))
        assert not isinstance(app.screen, ModelDownloadScreen)
        assert any("model download running" in h and "%" in h for h in heard), heard
        assert app.header.model_name == "gpt2" and not app.header.fallback
        assert not session.parts.engine().loaded.is_fallback
        assert any("downloading gpt2" in n for n in notices(app)), notices(app)
        assert not any("not available here" in n for n in notices(app))


@pytest.mark.asyncio
async def test_no_keeps_the_bundled_model_and_downloads_nothing(
    tmp_path: Path, online_hub: OnlineHub
) -> None:
    app, _ = await open_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: offer_shown(app))
        await pilot.press("n")
        await wait_until(pilot, lambda: any("keeping the bundled" in n for n in notices(app)))
        assert app.header.fallback and online_hub.hub.downloaded() == []
        app.command_download("")  # /download offers it again
        await wait_until(pilot, lambda: offer_shown(app))
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ModelDownloadScreen))
        assert online_hub.hub.downloaded() == []


class SlowIndexSession(FirstRunSession):
    """The model loads at once; the index stage waits for the test (a first-run build)."""

    def __init__(self, db_path: Path) -> None:
        super().__init__(db_path)
        self.index_done = threading.Event()

    def load(self, on_stage: StageCallback | None = None) -> list[Notice]:
        heard = self.first_run.watch(on_stage)
        model = StageClock("model", heard)
        self.parts.engine()
        model.finish("done", "bundled fallback")
        index = StageClock("index", heard)
        assert self.index_done.wait(60)
        index.finish("done")
        notices, self.parts.notices = self.parts.notices, []
        return notices


@pytest.mark.asyncio
async def test_the_offer_and_the_download_come_while_the_index_still_builds(
    tmp_path: Path, online_hub: OnlineHub
) -> None:
    session = SlowIndexSession(tmp_path / "history.db")
    app = app_of(session, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: offer_shown(app))
        assert not app.loaded.is_set()
        await pilot.press("y")
        await wait_until(pilot, lambda: any("switched to gpt2" in n for n in notices(app)))
        assert not app.loaded.is_set()  # the index is still "building"
        session.index_done.set()
        await wait_until(pilot, app.loaded.is_set)
        assert app.header.model_name == "gpt2" and not app.header.fallback
        assert not isinstance(app.screen, ModelDownloadScreen)  # asked once
