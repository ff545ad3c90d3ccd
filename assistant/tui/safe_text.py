"""Literal text for the screen: no markup parsed, no terminal escapes passed on.

Model output, documents and tool results may contain Rich/Textual markup (``[bold]``,
``[link=...]``) or terminal control sequences (``ESC [31m``, OSC 8 hyperlinks). We never parse
markup (Content objects are built from plain strings), and every control character is replaced
by a visible ``\\xNN`` spelling (``assistant.text_safety``, shared with the CLI), so the ESC that
would start a sequence never reaches the terminal and the user still sees that it was there.
"""

from __future__ import annotations

from textual.content import Content, Span
from textual.style import Style

from assistant.text_safety import escape_controls


def sanitize(text: str) -> str:
    """``text`` with every control character made visible (newlines kept, tabs expanded).

    Tabs become four spaces and CRLF one newline, for layout inside a widget; which characters
    are escaped, and how, is the shared policy.
    """
    return escape_controls(text.replace("\r\n", "\n"), controls_only=True).replace("\t", "    ")


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


def quoted(token_text: str) -> str:
    """A token in quotes, so leading spaces and newlines are visible (newline as \\n)."""
    return "'" + sanitize(token_text.replace("\n", "\\n")) + "'"
