"""Tool cards: our tools' structured results as readable fields, other structured results as
bounded pretty JSON, plain text as text — live in a turn and in a reopened conversation (a
real calculator over stdio, its call stored in a real SQLite history)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.chat.events import (
    ChatEvent,
    PlannedCall,
    RouteDecided,
    ToolCallFinished,
    ToolCallStarted,
    TurnDone,
)
from assistant.chat.stages import run_tools
from assistant.chat.turn_record import TurnRecord
from assistant.core.decoding import DecodingSettings
from assistant.settings import Settings
from assistant.tools.client import ToolHub
from assistant.tui.app import AssistantApp
from assistant.tui.tool_result_view import bounded, result_content
from assistant.tui.widgets.answer_block import AnswerBlock
from assistant.tui.widgets.cards import ToolCard
from tests.test_tui_chat import answered, send, wait_until
from tests.tui_fakes import FakeSession

SIZE = (120, 60)
CALCULATION = {
    "expression": "2^10 / 3",
    "value": 341.3333333333333,
    "display": "1024/3 ≈ 341.333333333333",
    "exact": True,
    "numerator": 1024,
    "denominator": 3,
}
EXCERPT = {
    "path": "notes/decoding.md",
    "start_line": 3,
    "end_line": 5,
    "total_lines": 40,
    "content": "     3\tGreedy decoding\n     4\tpicks the argmax\n     5\tevery step.\n",
    "truncated": False,
    "size_bytes": 900,
}
HITS = {
    "query": "argmax",
    "matches": [
        {"path": "notes/decoding.md", "line": 4, "text": "picks the argmax"},
        {"path": "notes/beam.md", "line": 12, "text": "  not the argmax  "},
    ],
    "truncated": False,
    "files_searched": 7,
    "files_skipped": 0,
}
OTHER = {"rows": [{"id": n, "name": f"row {n}"} for n in range(40)]}


def _call(server: str, tool: str, **arguments: Any) -> PlannedCall:
    return PlannedCall(server, tool, arguments, "scripted")


SCRIPT: list[tuple[PlannedCall, dict[str, Any] | None, str]] = [
    (_call("calculator", "evaluate", expression="2^10 / 3"), CALCULATION, '{"expression": "…"}'),
    (_call("file_lookup", "read_file", path="notes/decoding.md"), EXCERPT, "{}"),
    (_call("file_lookup", "search_files", query="argmax"), HITS, "{}"),
    (_call("db", "query", sql="select *"), OTHER, "{}"),
    (_call("echo", "say"), None, "plain [bold]words[/]"),
]


class ToolScriptSession(FakeSession):
    """Every turn runs the scripted tool calls, then answers with nothing."""

    def turn(
        self,
        text: str,
        *,
        decoding: DecodingSettings | None = None,
        stop_event: threading.Event | None = None,
        **_: Any,
    ) -> Iterator[ChatEvent]:
        yield RouteDecided(tuple(call for call, _, _ in SCRIPT), "scripted")
        for number, (call, structured, result_text) in enumerate(SCRIPT):
            yield ToolCallStarted(f"c{number}", call)
            yield ToolCallFinished(f"c{number}", call, True, result_text, 0.004, structured)
        yield TurnDone(None, "", "eos")


def make_app(session: FakeSession) -> AssistantApp:
    def factory(approve: Any) -> FakeSession:
        session.approve = approve
        return session

    return AssistantApp(factory)


def card_texts(block: AnswerBlock) -> list[str]:
    return [str(card.render()) for card in block.query(ToolCard)]


@pytest.mark.asyncio
async def test_live_cards_show_readable_fields_and_bounded_json(tmp_path: Path) -> None:
    app = make_app(ToolScriptSession(tmp_path / "history.db"))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "use the tools")
        block = await answered(pilot)
        calc, excerpt, hits, other, plain = card_texts(block)

        assert "2^10 / 3 = 1024/3 ≈ 341.333333333333" in calc and "exact" in calc
        assert '"expression"' not in calc.split("\n", 1)[1]  # fields, not the JSON text

        assert "notes/decoding.md:3-5  of 40 lines" in excerpt
        assert "     4    picks the argmax" in excerpt  # numbered lines (tab expanded)

        assert "2 matches for 'argmax' in 7 files" in hits
        assert "notes/decoding.md:4  picks the argmax" in hits
        assert "notes/beam.md:12  not the argmax" in hits

        assert '"rows": [' in other and '"name": "row 0"' in other  # pretty-printed
        assert "more lines" in other and '"row 39"' not in other  # and bounded

        assert "plain [bold]words[/]" in plain  # literal text, markup not parsed


def test_bounded_says_how_many_lines_were_left_out() -> None:
    text = "\n".join(f"line {n}" for n in range(100))
    shown = bounded(text, max_lines=10)
    assert shown.splitlines()[:10] == [f"line {n}" for n in range(10)]
    assert shown.splitlines()[-1] == "… 90 more lines"
    assert bounded("x" * 50 + "\n" + "y" * 50, max_chars=60).endswith("… 1 more line")
    assert bounded("short") == "short"


def test_listing_file_info_and_long_hits_are_readable_and_short() -> None:
    listing = {
        "path": "notes",
        "entries": [
            {"path": "notes/a.md", "type": "file", "size_bytes": 1200},
            {"path": "notes/sub", "type": "directory", "size_bytes": None},
        ],
        "truncated": True,
    }
    shown = str(result_content("list_files", listing, "{}"))
    assert shown.splitlines() == [
        "notes: 2 entries (more not shown)",
        "notes/a.md  1,200 bytes",
        "notes/sub/",
    ]
    info = {"path": "a.md", "type": "file", "size_bytes": 10, "modified": "2024", "line_count": 2}
    assert str(result_content("file_info", info, "{}")) == (
        "a.md  file, 10 bytes, 2 lines, modified 2024"
    )
    long_hit = {"query": "x", "matches": [{"path": "a.md", "line": 1, "text": "x" * 1000}]}
    (header, hit) = str(result_content("search_files", long_hit, "{}")).splitlines()
    assert header == "1 match for 'x'" and hit.startswith("a.md:1  xxx") and len(hit) < 200


def test_a_known_tool_with_an_unexpected_shape_falls_back_to_json() -> None:
    odd = {"expression": 2, "display": None, "exact": "maybe"}
    shown = str(result_content("evaluate", odd, "text"))
    assert '"expression": 2' in shown
    missing = str(result_content("read_file", {"path": "a.md"}, "text"))
    assert '"path": "a.md"' in missing


@pytest.mark.asyncio
async def test_a_reopened_conversation_shows_its_tool_calls_as_cards(
    tmp_path: Path,
) -> None:
    # user directories: under the test's ASSISTANT_HOME (conftest)
    settings = Settings.model_validate({"documents": [tmp_path]})
    # A real calculator call, recorded the way a chat turn records it.
    record = TurnRecord("what is 2^10 / 3?", DecodingSettings())
    hub = ToolHub.from_settings(settings)
    try:
        call = PlannedCall("calculator", "evaluate", {"expression": "2^10 / 3"}, "arithmetic")
        events = list(
            run_tools(
                record,
                hub,
                [call],
                None,
                (f"call-{n}" for n in itertools.count(1)),
                threading.Event(),
            )
        )
    finally:
        hub.close()
    (finished,) = [e for e in events if isinstance(e, ToolCallFinished)]
    assert finished.ok and finished.structured, finished
    (stored_call,) = record.tool_calls
    assert stored_call["structured"] == finished.structured  # the history keeps the fields

    session = FakeSession(tmp_path / "history.db")
    history = session.history
    conversation = history.new_conversation("calc")
    question = history.add_message(conversation, "user", record.text)
    history.add_message(conversation, "assistant", parent_id=question, **record.message_fields())
    old_row = {
        "name": "calculator.evaluate",
        "arguments": {"expression": "1+1"},
        "ok": True,
        "text": '{"expression": "1 + 1", "value": 2}',
        "duration_s": 0.01,
    }
    older = history.add_message(conversation, "user", "and 1+1?")
    history.add_message(conversation, "assistant", "2", parent_id=older, tool_calls=[old_row])

    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, app.loaded.is_set)
        app._open_conversation(conversation)
        await pilot.pause()
        cards = list(app.query(ToolCard))
        assert len(cards) == 2
        first, second = (str(card.render()) for card in cards)
        fields = finished.structured
        assert f"{fields['expression']} = {fields['display']}" in first, first
        assert cards[0].has_class("-ok") and "calculator.evaluate" in str(cards[0].border_title)
        assert "tool call: {" not in first
        # an old row (no structured content) shows its text
        assert '{"expression": "1 + 1", "value": 2}' in second
        assert cards[1].call.server == "calculator" and cards[1].call.tool == "evaluate"
