"""The token inspector's look inside the model for the cursor's token: the logit lens (l)
and the attention heat strip (a). Both describe the forward pass that chose the token (at
the position before it); they are computed in a thread worker, never on the event loop,
and ←/→ move to the neighbouring answer tokens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from assistant.tui.safe_text import literal
from assistant.tui.widgets.attention_view import AttentionView
from assistant.tui.widgets.lens_view import LensView

if TYPE_CHECKING:
    from assistant.core.attention import AttentionMap
    from assistant.core.engine import Engine
    from assistant.core.lens import LogitLens

LENS_K = 5


@dataclass(frozen=True)
class TokenTarget:
    """Answer token ``index`` in the ids the model read: the prompt's, then the answer's."""

    ids: tuple[int, ...]
    answer_start: int  # position of the answer's first token
    answer_length: int
    index: int

    @property
    def position(self) -> int:
        """The position whose next token is the target (the forward pass that chose it)."""
        return self.answer_start + self.index - 1

    def moved(self, delta: int) -> TokenTarget:
        index = max(0, min(self.answer_length - 1, self.index + delta))
        return replace(self, index=index)


def token_target(engine: Engine, prompt: str, answer_ids: Sequence[int], index: int) -> TokenTarget:
    prompt_ids = engine.encode(prompt) if prompt.strip() else []
    return TokenTarget(
        ids=tuple(prompt_ids) + tuple(answer_ids),
        answer_start=len(prompt_ids),
        answer_length=len(answer_ids),
        index=index,
    )


class InsideModelScreen(ModalScreen[int]):
    """Shared frame: the view, a status line, token moves; dismissed with the token index."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "close"),
        Binding("left", "move(-1)", "prev token"),
        Binding("right", "move(1)", "next token"),
    ]
    TITLE = ""

    def __init__(self, engine: Engine, target: TokenTarget) -> None:
        super().__init__()
        self.engine = engine
        self.target = target
        self.result: Any = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="inside-box") as box:
            box.border_title = self.TITLE
            box.border_subtitle = self.keys_help()
            yield self.make_view()
            yield Static(id="inside-status")

    def keys_help(self) -> str:
        return "←/→ token · Esc closes"

    def make_view(self) -> Static:
        raise NotImplementedError

    def compute(self, target: TokenTarget) -> Any:
        raise NotImplementedError

    def render_result(self) -> None:
        raise NotImplementedError

    def on_mount(self) -> None:
        self.refresh_view()

    def status(self, text: str) -> None:
        self.query_one("#inside-status", Static).update(literal(text, "italic"))

    def refresh_view(self) -> None:
        target = self.target
        if target.position < 0:
            self.status("The first token has no context before it: → moves on.")
            return
        self.status("computing…")

        def work() -> None:
            from assistant.errors import AssistantError

            try:
                result = self.compute(target)
            except AssistantError as exc:
                self.app.call_from_thread(self.status, f"error: {exc}")
                return
            self.app.call_from_thread(self.computed, target, result)

        self.run_worker(work, thread=True, group="inside-model", exclusive=True)

    def computed(self, target: TokenTarget, result: Any) -> None:
        if not self.is_attached or target != self.target:  # closed, or moved on meanwhile
            return
        self.result = result
        self.render_result()
        # The query token ends the text: keep it (and the status) in view on a long prompt.
        self.query_one("#inside-box", VerticalScroll).scroll_end(animate=False)
        note = (
            f" · the first {result.start} tokens are beyond the model's context"
            if result.start
            else ""
        )
        self.status(f"{len(result.token_ids)} tokens read · {result.seconds * 1000:.0f} ms{note}")

    def action_move(self, delta: int) -> None:
        moved = self.target.moved(delta)
        if moved != self.target:
            self.target = moved
            self.refresh_view()

    def action_close(self) -> None:
        self.dismiss(self.target.index)


class LensScreen(InsideModelScreen):
    TITLE = "logit lens: each layer's prediction through ln_f and the unembedding"

    def make_view(self) -> Static:
        return LensView(id="lens-view")

    def compute(self, target: TokenTarget) -> LogitLens:
        from assistant.core.lens import logit_lens

        return logit_lens(self.engine, target.ids, position=target.position, k=LENS_K)

    def render_result(self) -> None:
        self.query_one(LensView).show(self.result)


class AttentionScreen(InsideModelScreen):
    TITLE = "attention while choosing the token (eager attention, computed on demand)"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left_square_bracket", "layer(-1)", "layer -"),
        Binding("right_square_bracket", "layer(1)", "layer +"),
        Binding("comma", "head(-1)", "head -"),
        Binding("full_stop", "head(1)", "head +"),
        Binding("m", "mean", "mean of heads"),
    ]

    def __init__(self, engine: Engine, target: TokenTarget, layer: int = 1) -> None:
        super().__init__(engine, target)
        self.at_layer = layer
        self.at_head: int | None = None  # None: the mean over the heads

    def keys_help(self) -> str:
        return "[ ] layer · , . head · m mean · ←/→ token · Esc closes"

    def make_view(self) -> Static:
        return AttentionView(id="attention-view")

    def compute(self, target: TokenTarget) -> AttentionMap:
        from assistant.core.attention import attention_at

        return attention_at(self.engine, target.ids, position=target.position)

    def render_result(self) -> None:
        self.query_one(AttentionView).show(self.result, self.at_layer, self.at_head)

    def action_layer(self, delta: int) -> None:
        if self.result is not None:
            self.at_layer = max(1, min(self.result.layers, self.at_layer + delta))
            self.render_result()

    def action_head(self, delta: int) -> None:
        if self.result is not None:
            start = self.at_head if self.at_head is not None else (0 if delta > 0 else 1)
            self.at_head = max(1, min(self.result.heads, start + delta))
            self.render_result()

    def action_mean(self) -> None:
        if self.result is not None:
            self.at_head = None
            self.render_result()


def open_inside_view(message: Any, kind: str) -> None:
    """From an answer in token view: the lens or attention screen for its cursor's token;
    closing it leaves the cursor on the token the screen ended on."""
    app = message.app
    engine = app.engine_or_notice()
    if engine is None:
        return
    if not message.token_view or not message.steps:
        app.notify("Open the token view first (t), then put the cursor on a token.")
        return
    target = token_target(
        engine, message.prompt, [s.token_id for s in message.steps], message.cursor
    )
    screen = LensScreen(engine, target) if kind == "lens" else AttentionScreen(engine, target)

    def closed(index: int | None) -> None:
        if index is not None:
            message.cursor = index
        message.focus()

    app.push_screen(screen, closed)
