"""The first run without the configured model: offer the download, or say once we are offline.

After loading, when the configured hub model is not in the local cache (the bundled model
answers meanwhile), ``FirstRun.check`` either makes an ``offer`` (name, size, where it goes:
the UI asks the user) or, offline (HF_HUB_OFFLINE, ``offline = true``, or a hub that does
not answer), leaves one line saying the bundled model is in use. ``start`` downloads in a
background thread, reporting a stage like the index rebuild does ("model download … 120/551
MB"); when the files are in, a new engine is loaded in that thread too and handed to the
session, which uses it from the next turn. ``cancel`` stops the download; the bundled model
keeps answering.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.chat.events import Notice
from assistant.chat.loading import LoadStage, StageCallback, StageClock
from assistant.errors import AssistantError

if TYPE_CHECKING:
    from assistant.chat.components import Components
    from assistant.core.engine import Engine
    from assistant.core.model_download import DownloadPlan
    from assistant.settings import Settings

log = logging.getLogger(__name__)
DOWNLOAD_STAGE = "model download"
BAR_CELLS = 12


@dataclass(frozen=True)
class ModelOffer:
    """What accepting the download means, for the consent dialog."""

    plan: DownloadPlan

    @property
    def title(self) -> str:
        return f"Download {self.plan.name}?"

    @property
    def lines(self) -> tuple[str, ...]:
        plan = self.plan
        return (
            f"The configured model, {plan.name} ({plan.repo_id}), is not downloaded yet.",
            f"Size: {plan.size_text} in {len(plan.files)} files.",
            f"Into: {plan.cache_dir}",
            "The bundled course model answers until the download is done; "
            "then the chat switches to it.",
        )


def progress_text(done: int, total: int) -> str:
    """A bar for the header: "▕█████░░░░░░░▏ 42% 231/551 MB"."""
    from assistant.core.model_download import format_bytes

    share = done / total if total else 0.0
    filled = round(share * BAR_CELLS)
    bar = "█" * filled + "░" * (BAR_CELLS - filled)
    return f"▕{bar}▏ {share:.0%} {format_bytes(done)}/{format_bytes(total)}"


def offline_line(name: str, why: str) -> Notice:
    return Notice(f"using the bundled course model: {name} is not downloaded ({why})", "warning")


class FirstRun:
    """One session's first-run state: the offer (or the offline line) and the download."""

    def __init__(self, settings: Settings, parts: Components) -> None:
        self.settings = settings
        self.parts = parts
        self.offer: ModelOffer | None = None
        self.said_offline = False  # the one offline line was handed out
        # Told of the offer as soon as it is made (the UI may ask while the rest loads).
        self.on_offer: Callable[[ModelOffer], object] | None = None
        self._checked = False
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def handled(self) -> bool:
        """The missing model was explained (offer or offline line): no other notice needed."""
        return self.offer is not None or self.said_offline

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def watch(self, on_stage: StageCallback | None) -> StageCallback:
        """``on_stage`` for the session's loading, checking as soon as the model stage ends
        (so the offer can be answered, and the download run, while the index builds)."""

        def heard(stage: LoadStage) -> None:
            if on_stage is not None:
                on_stage(stage)
            if stage.name == "model" and stage.state != "running":
                self.check()

        return heard

    def check(self) -> None:
        """After the model loaded: an offer, the offline line, or nothing (the model is
        there). Runs once; one metadata request to the hub, only when the model is missing."""
        engine = self.parts.engine_if_loaded
        if self._checked or engine is None or not engine.loaded.is_fallback:
            return
        self._checked = True
        from assistant.core.model_download import hub_disabled, plan_download
        from assistant.core.models import hub_reachable, hub_repo_id
        from assistant.errors import ModelLoadError

        name = self.settings.model
        repo_id = hub_repo_id(name)
        if repo_id is None:
            return  # a local directory that failed to load: the engine's notice says why
        if self.settings.offline or hub_disabled():
            self._say_offline(name, "offline")
            return
        if not hub_reachable():
            self._say_offline(name, "the model hub is unreachable")
            return
        try:
            self.offer = ModelOffer(plan_download(name, repo_id))
        except ModelLoadError as exc:
            self._say_offline(name, str(exc))
            return
        self._drop_fallback_notice()
        if self.on_offer is not None:
            self.on_offer(self.offer)

    def _say_offline(self, name: str, why: str) -> None:
        self._drop_fallback_notice()
        self.parts.notices.append(offline_line(name, why))
        self.said_offline = True

    def _drop_fallback_notice(self) -> None:
        """The engine's own fallback line points at CLI flags; ours replaces it."""
        engine = self.parts.engine_if_loaded
        text = engine.loaded.notice if engine is not None else None
        self.parts.notices[:] = [n for n in self.parts.notices if n.text != text]

    def declined(self) -> Notice:
        """What to say when the user said no (the offer stays, for /download)."""
        name = self.settings.model
        return Notice(
            f"keeping the bundled course model; to get {name} later: /download "
            f"(or assistant models --download {name})"
        )

    def start(self, on_stage: StageCallback | None) -> bool:
        """Download the offered model in the background; False when there is no offer or a
        download already runs. ``on_stage`` hears the "model download" stage."""
        offer = self.offer
        if offer is None or self.running:
            return False
        self._cancel.clear()
        self._thread = threading.Thread(
            target=self._run, args=(offer.plan, on_stage), name="model-download", daemon=True
        )
        self._thread.start()
        return True

    def cancel(self) -> bool:
        """Stop the download (within one 10 MB chunk); False when none runs."""
        if not self.running:
            return False
        self._cancel.set()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def _run(self, plan: DownloadPlan, on_stage: StageCallback | None) -> None:
        from assistant.core.model_download import DownloadCancelled, download

        clock = StageClock(DOWNLOAD_STAGE, on_stage)
        try:
            download(
                plan,
                progress=lambda done, total: clock.progress(
                    progress_text(done, total), final=done >= total
                ),
                cancel=self._cancel,
            )
            clock.progress("loading the downloaded model", final=True)
            engine = self._load_engine()
        except DownloadCancelled:
            clock.finish("failed", "cancelled: the bundled course model keeps answering")
            return
        except AssistantError as exc:
            clock.finish("failed", str(exc).splitlines()[0][:200])
            return
        except Exception as exc:  # a broken install must not kill the chat silently
            log.exception("downloading the model failed")
            clock.finish("failed", f"{type(exc).__name__}: {exc}")
            return
        self.offer = None
        self.parts.use_engine(engine)
        clock.finish("done", f"switched to {plan.name}: it answers from the next turn")

    def _load_engine(self) -> Engine:
        """The configured model, now from the cache (in this thread, not the UI's)."""
        from assistant.core.engine import Engine
        from assistant.errors import ModelLoadError

        engine = Engine.from_settings(self.settings.model_copy(update={"allow_fallback": False}))
        if engine.loaded.is_fallback:  # pragma: no cover - allow_fallback is off
            raise ModelLoadError("the downloaded model did not load")
        return engine
