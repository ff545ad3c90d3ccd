"""One token's attention drawn over the text: each token's background as bright as the weight
the chosen head (or the mean of the heads) puts on it, and the strongest links as numbers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.color import Color
from textual.content import Content, Span
from textual.style import Style
from textual.widgets import Static

from assistant.core.heat import heat, heat_rgb
from assistant.tui.safe_text import join, quoted, sanitize

if TYPE_CHECKING:
    from assistant.core.attention import AttentionMap

STRONGEST_SHOWN = 6
DARK_INK, LIGHT_INK = Color(0, 0, 0), Color(235, 235, 235)


def attention_strip(attention: AttentionMap, layer: int, head: int | None) -> Content:
    """The window's tokens, shaded by weight; the query token (the last) underlined."""
    row = attention.row(layer, head)
    pieces: list[str] = []
    spans: list[Span] = []
    offset = 0
    last = len(attention.tokens) - 1
    for index, (token, shade) in enumerate(zip(attention.tokens, heat(row), strict=True)):
        # A newline token shows as \n, so the strip stays one paragraph in reading order.
        piece = sanitize(token.replace("\n", "\\n")) or "·"
        style = Style(
            background=Color(*heat_rgb(shade)),
            foreground=DARK_INK if shade > 0.55 else LIGHT_INK,
            underline=index == last,
            bold=index == last,
        )
        spans.append(Span(offset, offset + len(piece), style))
        pieces.append(piece)
        offset += len(piece)
    return Content("".join(pieces), spans=spans, strip_control_codes=False)


def strongest(attention: AttentionMap, layer: int, head: int | None) -> Content:
    row = attention.row(layer, head)
    order = sorted(range(len(row)), key=lambda j: row[j], reverse=True)[:STRONGEST_SHOWN]
    parts: list[tuple[str, str] | str] = [("strongest: ", "bold")]
    for j in order:
        parts.append(f"{attention.start + j}:{quoted(attention.tokens[j])} {row[j]:.1%}  ")
    return join(*parts)


def attention_title(attention: AttentionMap, layer: int, head: int | None) -> Content:
    which = f"head {head}/{attention.heads}" if head is not None else "mean of the heads"
    return join(
        (f"layer {layer}/{attention.layers} · {which}", "bold"),
        f" · query {quoted(attention.tokens[-1])} at position {attention.position}"
        " (underlined; brighter = more weight)",
    )


class AttentionView(Static):
    """Shows one AttentionMap at a layer and head (``show``)."""

    def show(self, attention: AttentionMap, layer: int, head: int | None) -> None:
        self.attention = attention
        self.update(
            attention_title(attention, layer, head)
            + Content("\n")
            + strongest(attention, layer, head)
            + Content("\n\n")
            + attention_strip(attention, layer, head)
        )
