"""The block ``/tokens TEXT`` puts in the log: the text as the model's tokenizer cuts it.

Tokens alternate between two shades so every boundary shows; a token that continues a word
is underlined (a split word reads as one underlined run), and a token holding only part of a
character shows its bytes in ⟨ ⟩. The count is against the model's context.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.content import Content, Span
from textual.style import Style
from textual.widget import Widget

from assistant.tui.safe_text import sanitize

if TYPE_CHECKING:
    from assistant.core.tokenization import Tokenization, TokenPiece

MAX_SHOWN_TOKENS = 2000  # a longer text shows its first tokens (the count covers all)


def token_label(piece: TokenPiece) -> str:
    """What a token looks like in the view: its text, whitespace made visible, or its bytes
    when it is only part of a character."""
    if not piece.valid_utf8:
        return "⟨" + piece.bytes_hex + "⟩"
    text = piece.text.replace("\r", "\\r").replace("\t", "→").replace("\n", "↵\n")
    return sanitize(text)


def summary(result: Tokenization, seconds: float | None = None) -> str:
    partial = sum(1 for p in result.pieces if not p.valid_utf8)
    parts = [
        f"{result.count:,} tokens of {result.context_length:,} context",
        f"{len(result.splits)} words split",
    ]
    if partial:
        parts.append(f"{partial} tokens hold part of a character")
    if not result.fits:
        parts.append(f"{result.count - result.context_length:,} over the context")
    if not result.round_trips:
        parts.append("decoding the ids does not give the text back")
    if seconds is not None:
        parts.append(f"{seconds * 1000:.0f} ms")
    return " · ".join(parts)


class TokenizationView(Widget):
    """One text, tokenized; ``result`` keeps the Tokenization it shows."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "tokens--even",
        "tokens--odd",
        "tokens--continues",
        "tokens--summary",
    }

    def __init__(self, result: Tokenization, model: str, seconds: float | None = None) -> None:
        super().__init__()
        self.result = result
        self.seconds = seconds
        self.border_title = f"tokens · {model}"
        self.border_subtitle = "shade = one token · underline = continues a word · ⟨bytes⟩"

    @property
    def summary_text(self) -> str:
        return summary(self.result, self.seconds)

    def render(self) -> Content:
        pieces: list[str] = []
        spans: list[Span] = []
        offset = 0
        shades = [self.get_visual_style(f"tokens--{n}", partial=True) for n in ("even", "odd")]
        underline = Style(underline=True)
        for piece in self.result.pieces[:MAX_SHOWN_TOKENS]:
            label = token_label(piece)
            style = shades[piece.index % 2]
            if not piece.starts_word:
                style = style + underline
            spans.append(Span(offset, offset + len(label), style))
            pieces.append(label)
            offset += len(label)
        hidden = self.result.count - MAX_SHOWN_TOKENS
        tail = f"\n… {hidden:,} more tokens" if hidden > 0 else ""
        line = "\n\n" + self.summary_text + tail
        spans.append(
            Span(offset, offset + len(line), self.get_visual_style("tokens--summary", partial=True))
        )
        return Content("".join(pieces) + line, spans=spans, strip_control_codes=False)
