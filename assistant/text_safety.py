"""Text shown literally on a terminal: unsafe characters spelled as visible escapes.

Model output, documents and tool results may hold terminal control sequences (``ESC [31m``,
OSC 8 hyperlinks) or bidi overrides that visually reorder text (Trojan Source). Passing them on
would let data restyle or rewrite the screen, so they are replaced by their code point spelling
(``\\x1b``, ``\\u202e``): the ESC never reaches the terminal and the user still sees it was
there. The CLI and the TUI both use this one function; it lives beside ``errors`` because both
may import it.
"""

from __future__ import annotations

from functools import lru_cache

# Bidi embeddings/overrides (U+202A-U+202E) and isolates (U+2066-U+2069).
_BIDI = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
# C0 controls, DEL, C1 controls and the bidi controls: the set the TUI escapes.
_CONTROL_CODES = (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *_BIDI)
# Newline and tab keep their familiar names when escaped (a token table shows ``\n``); every
# other character, the carriage return included, is spelled by code point.
_NAMED = {"\n": "\\n", "\t": "\\t"}


def _spelling(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


@lru_cache(maxsize=8)
def _controls_table(keep: str) -> dict[int, str]:
    # Built once per ``keep``: the TUI escapes every streamed token through it.
    return {code: _spelling(chr(code)) for code in _CONTROL_CODES if chr(code) not in keep}


def escape_controls(text: str, *, keep: str = "\n\t", controls_only: bool = False) -> str:
    """``text`` with every unsafe character replaced by its visible escape.

    ``keep`` lists the characters left as they are: newline and tab by default (running text);
    ``""`` for a token in a table cell, where a newline must show as ``\\n``.

    ``controls_only`` chooses what counts as unsafe. False (plain terminal output): every
    character ``str.isprintable`` rejects, so format characters (zero-width joiners), separators
    other than the ASCII space (no-break space) and unassigned code points are escaped too and
    nothing invisible passes. True (the TUI, which renders the rest of Unicode itself, emoji
    joiner sequences included): only C0/C1 controls, DEL and the bidi controls, a subset of the
    former.
    """
    if controls_only:
        return text.translate(_controls_table(keep))
    return "".join(ch if ch in keep or ch.isprintable() else _spelling(ch) for ch in text)
