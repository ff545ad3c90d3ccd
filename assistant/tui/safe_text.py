"""Literal text for the screen (promise 7): no markup parsed, no terminal escapes passed on.

Model output, documents and tool results may contain Rich/Textual markup (``[bold]``,
``[link=...]``) or terminal control sequences (``ESC [31m``, OSC 8 hyperlinks). We never parse
markup (Content objects are built from plain strings), and every control character is replaced
by a visible ``\\xNN`` spelling, so the ESC that would start a sequence never reaches the
terminal and the user still sees that it was there.
"""

from __future__ import annotations

from textual.content import Content, Span
from textual.style import Style

# C0 controls except newline and tab, DEL, C1 controls, and the bidi overrides/isolates that
# can visually reorder text (Trojan Source).
_BIDI = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
_CONTROL_CODES = (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *_BIDI)
_TRANSLATE: dict[int, str] = {
    code: (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}") for code in _CONTROL_CODES
}
_TRANSLATE[ord("\n")] = "\n"
_TRANSLATE[ord("\t")] = "    "


def sanitize(text: str) -> str:
    """``text`` with every control character made visible (newlines kept, tabs expanded)."""
    return text.replace("\r\n", "\n").translate(_TRANSLATE)


def literal(text: str, style: str | Style = "") -> Content:
    """A Content showing ``text`` exactly, optionally in one style; markup is never parsed."""
    clean = sanitize(text)
    spans = [Span(0, len(clean), style)] if style and clean else None
    return Content(clean, spans=spans, strip_control_codes=False)


def join(*parts: tuple[str, str | Style] | str) -> Content:
    """Concatenate literal pieces, each optionally styled: ``join(("tool ", "bold"), name)``."""
    out = Content("")
    for part in parts:
        text, style = (part, "") if isinstance(part, str) else part
        out = out + literal(text, style)
    return out
