"""One assistant answer: streamed text, and a token view coloured by each token's raw rank.

Streaming: the app appends steps in batches (one refresh per batch, at a bounded rate); the
rendered Content is cached, so a finished message is never rebuilt unless its view changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content, Span
from textual.events import Click
from textual.reactive import reactive
from textual.style import Style
from textual.widget import Widget

from assistant.tui.messages import CursorMoved
from assistant.tui.safe_text import literal, sanitize

if TYPE_CHECKING:
    from assistant.core.types import TokenStep


RANK_BUCKETS: tuple[tuple[int, str, str], ...] = (
    (10, "token--top10", "top 10"),
    (100, "token--top100", "top 100"),
    (1000, "token--top1000", "top 1000"),
)
BEYOND = ("token--beyond", "beyond 1000")


def rank_class(rank: int) -> str:
    """The component class colouring a token of this raw rank (1-based)."""
    for limit, name, _ in RANK_BUCKETS:
        if rank <= limit:
            return name
    return BEYOND[0]


def describe_decoding(settings: Any) -> str:
    """A short label for the settings an answer was decoded with, e.g. "sample T=0.7 p=0.9"."""
    if settings is None:
        return ""
    if settings.strategy == "beam":
        text = f"beam {settings.num_beams}"
    elif settings.strategy == "sample":
        text = f"sample T={settings.temperature:g}"
        text += f" k={settings.top_k}" if settings.top_k else ""
        text += f" p={settings.top_p:g}" if settings.top_p < 1 else ""
    else:
        text = "greedy"
    if settings.seed is not None:
        text += f" seed {settings.seed}"
    return text


class AssistantMessage(Widget, can_focus=True):
    """An answer. Focus it and press t (or ctrl+t anywhere) for the token view."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "token--top10",
        "token--top100",
        "token--top1000",
        "token--beyond",
        "token--cursor",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1)", "prev token", show=False),
        Binding("right", "move(1)", "next token", show=False),
        Binding("home", "jump(0)", "first token", show=False),
        Binding("end", "jump(-1)", "last token", show=False),
        Binding("t", "toggle_tokens", "token view"),
        Binding("c", "copy", "copy"),
        Binding("p", "panel('#token-lookup')", "token probability"),
        Binding("f", "panel('#fork-options')", "fork"),
        *(Binding(str(n), f"source({n})", "open source", show=n == 1) for n in range(1, 10)),
    ]

    token_view: reactive[bool] = reactive(False, layout=True)
    cursor: reactive[int] = reactive(0)

    def __init__(
        self,
        *,
        prompt: str = "",
        steps: Iterable[TokenStep] = (),
        text: str | None = None,
        decoding: Any = None,
        message_id: Any = None,
        label: str = "assistant",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.prompt = prompt  # the exact prompt the model continued (for lookups and forks)
        self.steps: list[TokenStep] = list(steps)
        self._text = text if text is not None else "".join(s.text for s in self.steps)
        self.decoding = decoding
        self.message_id = message_id
        self.finished = text is not None or bool(self.steps)
        self.finish_reason = ""
        self.border_title = label
        self.border_subtitle = describe_decoding(decoding)
        self._cache: tuple[tuple[Any, ...], Content] | None = None

    @property
    def text(self) -> str:
        return self._text

    # ------------------------------------------------------------------ streaming
    def append_steps(self, steps: list[TokenStep]) -> None:
        if not steps:
            return
        self.steps.extend(steps)
        self._text += "".join(s.text for s in steps)
        self.refresh(layout=True)

    def finish(self, text: str | None, reason: str, message_id: Any = None) -> None:
        """The turn ended: keep the final text (the partial one if it was stopped)."""
        if text is not None and text != self._text and not self.steps:
            self._text = text
        self.finished = True
        self.finish_reason = reason
        self.message_id = message_id
        if reason == "cancelled":
            self.border_subtitle = " · ".join(
                filter(None, ("stopped", describe_decoding(self.decoding)))
            )
        self.refresh(layout=True)

    # ------------------------------------------------------------------ rendering
    def render(self) -> Content:
        key = (len(self._text), len(self.steps), self.token_view, self.cursor, self.has_focus)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self._build())
        return self._cache[1]

    def _build(self) -> Content:
        if not self.token_view or not self.steps:
            return literal(self._text or ("…" if not self.finished else ""))
        pieces: list[str] = []
        spans: list[Span] = []
        offset = 0
        # get_visual_style keeps colours only; the cursor's reverse comes from the rich style.
        cursor_style = Style.from_rich_style(
            self.get_component_rich_style("token--cursor", partial=True)
        )
        for index, step in enumerate(self.steps):
            # A token still inside a multi-byte character has no text yet: show the token.
            piece = sanitize(step.text or step.token or "·")
            style = self.get_visual_style(rank_class(step.rank), partial=True)
            if index == self.cursor:
                style = style + cursor_style
            style = style + Style.from_meta({"token": index})
            spans.append(Span(offset, offset + len(piece), style))
            pieces.append(piece)
            offset += len(piece)
        return Content("".join(pieces), spans=spans, strip_control_codes=False)

    # ------------------------------------------------------------------ token cursor
    def watch_token_view(self, on: bool) -> None:
        self.set_class(on, "-token-view")
        self.post_message(CursorMoved(self, self.cursor if on else -1))

    def watch_cursor(self, index: int) -> None:
        if self.token_view:
            self.post_message(CursorMoved(self, index))

    def validate_cursor(self, index: int) -> int:
        return max(0, min(index, len(self.steps) - 1)) if self.steps else 0

    def action_toggle_tokens(self) -> None:
        self.token_view = not self.token_view

    def action_move(self, delta: int) -> None:
        if self.token_view:
            self.cursor += delta

    def action_jump(self, index: int) -> None:
        if self.token_view:
            self.cursor = index if index >= 0 else len(self.steps) - 1

    def action_panel(self, selector: str) -> None:
        """Jump into the token panel (type a token, or pick an alternative to fork from)."""
        if self.token_view:
            self.screen.query_one(selector).focus()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self._text)
        self.app.notify("Message copied to the clipboard.")

    def action_source(self, number: int) -> None:
        """Open passage ``number`` of this answer's sources (keyboard path to the list)."""
        from assistant.tui.screens.passage import PassageScreen
        from assistant.tui.widgets.sources import SourcesList

        lists = list(self.parent.query(SourcesList)) if self.parent is not None else []
        passages = lists[0].passages if lists else ()
        if 1 <= number <= len(passages):
            self.app.push_screen(PassageScreen(passages[number - 1]))

    def on_click(self, event: Click) -> None:
        index = event.style.meta.get("token") if event.style else None
        if isinstance(index, int):
            self.focus()
            self.cursor = index

    def current_step(self) -> TokenStep | None:
        if self.token_view and 0 <= self.cursor < len(self.steps):
            return self.steps[self.cursor]
        return None
