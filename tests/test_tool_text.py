"""How tool results reach the model: compact, labelled, capped; failures left out."""

from __future__ import annotations

from assistant.chat.events import PlannedCall
from assistant.chat.tool_text import cap_text, prompt_text
from assistant.tools.results import ToolResult

CALC = PlannedCall("calculator", "evaluate", {"expression": "2^20"}, "test")
READ = PlannedCall("file_lookup", "read_file", {"path": "notes.md"}, "test")


def result(text: str, structured: dict | None = None, ok: bool = True) -> ToolResult:
    return ToolResult(ok=ok, text=text, prompt_text=text, structured=structured)


def test_calculator_result_is_one_line() -> None:
    structured = {"expression": "2^20", "value": 1048576, "display": "1048576", "exact": True}
    text, cut = prompt_text(CALC, result('{"display": "1048576"}', structured))
    assert text == "calculator.evaluate: 2^20 = 1048576" and not cut


def test_file_content_keeps_its_lines_and_place() -> None:
    structured = {
        "path": "notes.md",
        "start_line": 1,
        "end_line": 2,
        "total_lines": 9,
        "content": "line one\nline two",
    }
    text, _ = prompt_text(READ, result("{...}", structured))
    assert text == "file_lookup.read_file: notes.md lines 1-2 of 9:\nline one\nline two"


def test_other_tools_use_their_text_and_failures_are_left_out() -> None:
    other = PlannedCall("weather", "today", {}, "test")
    assert prompt_text(other, result("sunny"))[0] == "weather.today: sunny"
    assert prompt_text(other, result("server crashed", ok=False)) == (None, False)


def test_huge_results_are_capped_with_a_marker() -> None:
    big = "\n".join(f"line {i}" for i in range(200_000))
    text, cut = prompt_text(PlannedCall("s", "t", {}, "x"), result(big), max_chars=4000)
    assert cut and text is not None and len(text) <= 4000 and "characters omitted" in text
    assert cap_text("short", 10) == ("short", False)
