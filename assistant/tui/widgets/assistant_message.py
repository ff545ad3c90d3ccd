"""One assistant answer: streamed text with its source markers, and a token view coloured by
each token's raw rank or by its source (the passage it was copied from, or the model).

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

from assistant.tui.answer_labels import describe_decoding, describe_finish
from assistant.tui.cited_text import CitedText
from assistant.tui.messages import ColouringChanged, CursorMoved
from assistant.tui.provenance_view import (
    SOURCE_CLASSES,
    copied_passages,
    find_passage,
    source_class,
)
from assistant.tui.safe_text import literal, sanitize

if TYPE_CHECKING:
    from assistant.core.types import TokenStep


RANK_BUCKETS: tuple[tuple[int, str, str], ...] = (
    (10, "token--top10", "top 10"),
    (100, "token--top100", "top 100"),
    (1000, "token--top1000", "top 1000"),
)
BEYOND = ("token--beyond", "beyond 1000")
COLOURINGS = ("rank", "source")


def rank_class(rank: int) -> str:
    """The component class colouring a token of this raw rank (1-based)."""
    for limit, name, _ in RANK_BUCKETS:
        if rank <= limit:
            return name
    return BEYOND[0]


class AssistantMessage(Widget, can_focus=True):
    """An answer. Focus it and press t (or ctrl+t anywhere) for the token view; there s
    switches the colouring (raw rank / source) and Enter opens a copied token's passage."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "token--top10",
        "token--top100",
        "token--top1000",
        "token--beyond",
        "token--cursor",
        "answer--citation",
        *SOURCE_CLASSES,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1)", "prev token", show=False),
        Binding("right", "move(1)", "next token", show=False),
        Binding("home", "jump(0)", "first token", show=False),
        Binding("end", "jump(-1)", "last token", show=False),
        Binding("t", "toggle_tokens", "token view"),
        Binding("s", "toggle_colouring", "rank/source"),
        Binding("enter", "open_token", "open passage"),
        Binding("c", "copy", "copy"),
        Binding("p", "panel('#token-lookup')", "token probability"),
        Binding("f", "panel('#fork-options')", "fork"),
        Binding("e", "pipeline", "decoding pipeline", show=False),
        Binding("l", "inside_model('lens')", "logit lens", show=False),
        Binding("a", "inside_model('attention')", "attention", show=False),
        *(Binding(str(n), f"source({n})", "open source", show=n == 1) for n in range(1, 10)),
    ]

    token_view: reactive[bool] = reactive(False, layout=True)
    cursor: reactive[int] = reactive(0)
    # Token view colouring, "rank" or "source"; one choice for all answers (the app's).
    colouring: reactive[str] = reactive("rank", init=False)

    def __init__(
        self,
        *,
        prompt: str = "",
        steps: Iterable[TokenStep] = (),
        text: str | None = None,
        decoding: Any = None,
        message_id: Any = None,
        label: str = "assistant",
        finish_reason: str = "",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.prompt = prompt  # the exact prompt the model continued (for lookups and forks)
        self.steps: list[TokenStep] = list(steps)
        self._text = text if text is not None else "".join(s.text for s in self.steps)
        self.decoding = decoding
        self.message_id = message_id
        self.finished = text is not None or bool(self.steps)
        self.finish_reason = finish_reason
        self.border_title = label
        self.border_subtitle = self._subtitle()
        self._cache: tuple[tuple[Any, ...], Content] | None = None
        self._cited = CitedText(self.steps)
        if self.finished:
            self._cited.finish()

    @property
    def text(self) -> str:
        """The answer as generated (copied and stored without the source markers)."""
        return self._text

    @property
    def shown_text(self) -> str:
        """The answer as displayed: with " [n]" after each sentence copied from passage n."""
        return self._cited.text if self._steps_are_text() else self._text

    def _steps_are_text(self) -> bool:
        """Whether the steps spell the text (a stored answer may differ, e.g. trimmed)."""
        return bool(self.steps) and "".join(s.text for s in self.steps).strip() == (
            self._text.strip()
        )

    def _subtitle(self) -> str:
        return " · ".join(
            filter(None, (describe_finish(self.finish_reason), describe_decoding(self.decoding)))
        )

    # ------------------------------------------------------------------ streaming
    def append_steps(self, steps: list[TokenStep]) -> None:
        if not steps:
            return
        self.steps.extend(steps)
        self._text += "".join(s.text for s in steps)
        self._cited.push(steps)
        self.refresh(layout=True)

    def finish(self, text: str | None, reason: str, message_id: Any = None) -> None:
        """The turn ended: keep the final text (the partial one if it was stopped)."""
        if text is not None and text != self._text and not self.steps:
            self._text = text
        self.finished = True
        self.finish_reason = reason
        self.message_id = message_id
        self._cited.finish()
        self.border_subtitle = self._subtitle()
        self.refresh(layout=True)

    # ------------------------------------------------------------------ rendering
    def render(self) -> Content:
        key = (
            len(self._text),
            len(self._cited.parts),
            len(self.steps),
            self.token_view,
            self.cursor,
            self.has_focus,
            self.colouring,
            self.finished,
        )
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self._build())
        return self._cache[1]

    def _build_text(self) -> Content:
        if not self._steps_are_text():
            return literal(self._text or ("…" if not self.finished else ""))
        marker = self.get_visual_style("answer--citation", partial=True)
        out = Content("")
        for text, is_marker in self._cited.parts:
            out = out + literal(text, marker if is_marker else "")
        return out

    def _build(self) -> Content:
        if not self.token_view or not self.steps:
            return self._build_text()
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
            colour = (self.colouring == "source" and source_class(step)) or rank_class(step.rank)
            style = self.get_visual_style(colour, partial=True)
            if index == self.cursor:
                style = style + cursor_style
            style = style + Style.from_meta({"token": index})
            spans.append(Span(offset, offset + len(piece), style))
            pieces.append(piece)
            offset += len(piece)
        return Content("".join(pieces), spans=spans, strip_control_codes=False)

    def on_mount(self) -> None:
        self.set_reactive(AssistantMessage.colouring, getattr(self.app, "token_colouring", "rank"))

    # ------------------------------------------------------------------ token cursor
    def watch_token_view(self, on: bool) -> None:
        self.set_class(on, "-token-view")
        self.refresh_bindings()
        self.post_message(CursorMoved(self, self.cursor if on else -1))

    def watch_cursor(self, index: int) -> None:
        if self.token_view:
            self.post_message(CursorMoved(self, index))

    def validate_cursor(self, index: int) -> int:
        return max(0, min(index, len(self.steps) - 1)) if self.steps else 0

    def watch_colouring(self, colouring: str) -> None:
        self.post_message(ColouringChanged(self, colouring))
        if self.token_view:  # the panel's legend follows
            self.post_message(CursorMoved(self, self.cursor))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Enter opens a token's passage only in the token view (shown dimmed elsewhere).
        return (self.token_view or None) if action == "open_token" else True

    def action_toggle_tokens(self) -> None:
        self.token_view = not self.token_view

    def action_toggle_colouring(self) -> None:
        self.colouring = COLOURINGS[(COLOURINGS.index(self.colouring) + 1) % len(COLOURINGS)]
        if not self.token_view:  # nothing changes on screen until the token view opens
            self.app.notify(f"Token view colours tokens by {self.colouring} (t opens it).")

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

    def action_inside_model(self, kind: str) -> None:
        """The logit lens or the attention strip for the cursor's token (a modal screen)."""
        from assistant.tui.screens.inside_model import open_inside_view

        open_inside_view(self, kind)

    def action_pipeline(self) -> None:
        """The cursor's token through each logits processor (a modal screen)."""
        from assistant.tui.screens.pipeline import open_pipeline

        open_pipeline(self)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self._text)
        self.app.notify("Message copied to the clipboard.")

    def passages(self) -> tuple[Any, ...]:
        """This answer's sources (the list under it in its block)."""
        from assistant.tui.widgets.sources import SourcesList

        lists = list(self.parent.query(SourcesList)) if self.parent is not None else []
        return tuple(lists[0].passages) if lists else ()

    def copied_passages(self) -> tuple[int, ...]:
        return copied_passages(self.steps)

    @property
    def grounded(self) -> bool:
        """Whether any token says where it came from (grounding was on)."""
        return any(step.provenance is not None for step in self.steps)

    def passage_of(self, step: TokenStep) -> Any:
        """The source passage ``step`` was copied from, if it was and it is listed."""
        if step.provenance is None:
            return None
        return find_passage(step.provenance, self.passages())

    def action_source(self, number: int) -> None:
        """Open passage ``number`` of this answer's sources (keyboard path to the list)."""
        from assistant.tui.screens.passage import PassageScreen

        passages = self.passages()
        if 1 <= number <= len(passages):
            self.app.push_screen(PassageScreen(passages[number - 1]))

    def action_open_token(self) -> None:
        """Open the passage the cursor's token was copied from, at the line it came from."""
        from assistant.tui.screens.passage import PassageScreen

        step = self.current_step()
        provenance = step.provenance if step is not None else None
        if provenance is None or not provenance.copied:
            self.app.notify("No passage to open: this token is the model's own, not copied.")
            return
        passage = find_passage(provenance, self.passages())
        if passage is None:
            self.app.notify("The passage it was copied from is not listed.", severity="warning")
            return
        self.app.push_screen(PassageScreen(passage, line=provenance.line))

    def on_click(self, event: Click) -> None:
        index = event.style.meta.get("token") if event.style else None
        if isinstance(index, int):
            self.focus()
            self.cursor = index

    def current_step(self) -> TokenStep | None:
        if self.token_view and 0 <= self.cursor < len(self.steps):
            return self.steps[self.cursor]
        return None
