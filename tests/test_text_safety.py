"""The one terminal sanitizer shared by the CLI and the TUI: any text shown literally."""

from __future__ import annotations

import pytest

from assistant.text_safety import escape_controls


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("\x1b]8;;http://e\x07link\x1b]8;;\x07", "\\x1b]8;;http://e\\x07link\\x1b]8;;\\x07"),
        ("\x9b31m C1 CSI", "\\x9b31m C1 CSI"),
        ("abc\u202edcba \u2066x\u2069", "abc\\u202edcba \\u2066x\\u2069"),
        ("one\ntwo\tthree\rfour", "one\ntwo\tthree\\x0dfour"),
        ("zażółć 日本 [bold]", "zażółć 日本 [bold]"),
        ("tag\U000e0001", "tag\\U000e0001"),
        ("a\xa0b\u200dc", "a\\xa0b\\u200dc"),
    ],
)
def test_running_text_keeps_newlines_and_tabs_and_escapes_the_rest(raw: str, shown: str) -> None:
    assert escape_controls(raw) == shown


def test_a_table_cell_shows_newlines_and_tabs_by_name() -> None:
    assert escape_controls("\n", keep="") == "\\n"
    assert escape_controls("a\tb\r\n", keep="") == "a\\tb\\x0d\\n"


def test_controls_only_keeps_unicode_the_tui_renders_itself() -> None:
    family = "\U0001f468\u200d\U0001f469"  # an emoji joiner sequence
    assert escape_controls(f"a\xa0b {family}", controls_only=True) == f"a\xa0b {family}"
    assert escape_controls("\x1b[2J\u202e\x7f", controls_only=True) == "\\x1b[2J\\u202e\\x7f"
    assert escape_controls("a\tb\nc", keep="\n", controls_only=True) == "a\\tb\nc"


def test_controls_only_escapes_a_subset_of_the_unprintable() -> None:
    for code in range(0x3000):
        char = chr(code)
        if escape_controls(char, keep="", controls_only=True) != char:
            assert escape_controls(char, keep="") != char, hex(code)


def test_no_escaped_output_contains_a_control_character() -> None:
    every_low_char = "".join(map(chr, range(0x2100)))
    for controls_only in (False, True):
        out = escape_controls(every_low_char, keep="", controls_only=controls_only)
        assert all(ord(c) >= 0x20 and not 0x7F <= ord(c) < 0xA0 for c in out)
        assert not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in out)
