"""The token inspector's pipeline screen (e): the cursor's token through every logits
processor the engine ran, stage by stage, replayed exactly in a thread worker; ←/→ move to
the neighbouring tokens, Esc closes and leaves the cursor there."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from assistant.tui.safe_text import literal, quoted
from assistant.tui.widgets.pipeline_view import PipelineView

if TYPE_CHECKING:
    from assistant.core.decoding import DecodingSettings
    from assistant.core.engine import Engine
    from assistant.core.pipeline_explain import PipelineExplanation

PIPELINE_K = 10
GROUNDING_NOTE = (
    "grounded answer: the passage copy (and context-aware guidance) are not replayed here, "
    "so the last stage is the model's distribution before the copy was mixed in"
)


class PipelineScreen(ModalScreen[int]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "close"),
        Binding("left", "move(-1)", "prev token"),
        Binding("right", "move(1)", "next token"),
    ]

    def __init__(
        self,
        engine: Engine,
        prompt: str,
        token_ids: Sequence[int],
        index: int,
        settings: DecodingSettings,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.prompt = prompt
        self.token_ids = list(token_ids)
        self.index = index
        self.grounded = settings.grounding != "off"
        # The chat's passages are not kept with an answer: a grounded one is replayed without
        # them (the stages before the copy are the same; copy+cad's guidance is left out).
        self.settings = settings.replace(grounding="off") if self.grounded else settings
        self.result: PipelineExplanation | None = None
        self.seconds = 0.0

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="pipeline-box") as box:
            box.border_title = "decoding pipeline: the distribution after each logits processor"
            box.border_subtitle = "←/→ token · Esc closes"
            yield Static(id="pipeline-title")
            yield PipelineView(id="pipeline-view")
            yield Static(id="pipeline-status")

    def on_mount(self) -> None:
        self.refresh_view()

    def status(self, text: str) -> None:
        self.query_one("#pipeline-status", Static).update(literal(text, "italic"))

    def refresh_view(self) -> None:
        index = self.index
        token = quoted(self.engine.token_texts.text(self.token_ids[index]))
        self.query_one("#pipeline-title", Static).update(
            literal(f"token {index + 1} of {len(self.token_ids)}: {token}", "bold")
        )
        self.status("computing…")

        def work() -> None:
            from assistant.core.pipeline_explain import explain_step
            from assistant.errors import AssistantError

            started = time.perf_counter()
            try:
                result = explain_step(
                    self.engine, self.prompt, self.token_ids, index, self.settings, k=PIPELINE_K
                )
            except AssistantError as exc:
                self.app.call_from_thread(self.status, f"error: {exc}")
                return
            seconds = time.perf_counter() - started
            self.app.call_from_thread(self.computed, index, result, seconds)

        self.run_worker(work, thread=True, group="pipeline", exclusive=True)

    def computed(self, index: int, result: PipelineExplanation, seconds: float) -> None:
        if not self.is_attached or index != self.index:  # closed, or moved on meanwhile
            return
        self.result, self.seconds = result, seconds
        self.query_one(PipelineView).show(result)
        notes = [f"{len(result.stages)} stages · replayed in {seconds * 1000:.0f} ms"]
        if self.grounded:
            notes.append(GROUNDING_NOTE)
        self.status(" · ".join(notes))

    def action_move(self, delta: int) -> None:
        index = max(0, min(len(self.token_ids) - 1, self.index + delta))
        if index != self.index:
            self.index = index
            self.refresh_view()

    def action_close(self) -> None:
        self.dismiss(self.index)


def open_pipeline(message: Any) -> None:
    """From an answer in token view: the pipeline screen for its cursor's token; closing it
    leaves the cursor on the token the screen ended on."""
    app = message.app
    engine = app.engine_or_notice()
    if engine is None:
        return
    if not message.token_view or not message.steps:
        app.notify("Open the token view first (t), then put the cursor on a token.")
        return
    from assistant.core.decoding import DecodingSettings

    settings = message.decoding or getattr(app, "decoding", None) or DecodingSettings()
    if settings.strategy == "beam":
        app.notify("Beam search scores whole beams: there is no per-token pipeline to show.")
        return
    screen = PipelineScreen(
        engine, message.prompt, [s.token_id for s in message.steps], message.cursor, settings
    )

    def closed(index: int | None) -> None:
        if index is not None:
            message.cursor = index
        message.focus()

    app.push_screen(screen, closed)
