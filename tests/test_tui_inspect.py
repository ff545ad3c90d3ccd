"""Pilot tests of the inspection features: token view and cursor, typed-token lookup, fork,
/probs, /compare, decoding settings, history, export, copy, literal text."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from textual.content import Content

from assistant.core.decoding import PRESETS, DecodingSettings
from assistant.core.engine import Engine
from assistant.core.lookup import continuation_logprobs
from assistant.tui import commands
from assistant.tui.app import AssistantApp
from assistant.tui.inspect_actions import COMPARE_MAX_TOKENS
from assistant.tui.widgets.assistant_message import AssistantMessage, rank_class
from assistant.tui.widgets.cards import NoticeLine, UserMessage
from assistant.tui.widgets.inspect_views import CompareView, ProbsView
from tests.test_tui_chat import SIZE, answered, make_app, send, wait_until
from tests.tui_fakes import ANSWER, HOSTILE, PROMPT

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def tiny_engine(tiny_model_dir: Path) -> Engine:
    return Engine.load(str(tiny_model_dir), allow_fallback=False, threads=1)


def panel_text(app: AssistantApp, selector: str) -> str:
    return str(app.query_one(selector).render())


async def test_token_view_cursor_keys_and_mouse(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "greedy?")
        block = await answered(pilot)
        message = block.message
        assert message is not None
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert message.token_view and app.token_panel.has_class("-shown")
        assert "token 1: 'Greedy'" in panel_text(app, "#token-chosen")
        await pilot.press("right", "right")
        await pilot.pause()
        assert message.cursor == 2
        assert "token 3: ' picks'" in panel_text(app, "#token-chosen")
        assert "▶" in panel_text(app, "#token-raw")  # the chosen token is marked in the table
        await pilot.press("end")
        await pilot.pause()
        assert message.cursor == len(ANSWER) - 1
        # Click inside " decoding" (second token): border + padding put text at x=2, y=1.
        await pilot.click(message, offset=(2 + len("Greedy") + 3, 1))
        await pilot.pause()
        assert message.cursor == 1
        assert "token 2: ' decoding'" in panel_text(app, "#token-chosen")
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert not message.token_view and not app.token_panel.has_class("-shown")


async def test_token_colours_follow_raw_rank_buckets(tmp_path: Path) -> None:
    assert [rank_class(r) for r in (1, 10, 11, 100, 101, 1000, 1001)] == [
        "token--top10",
        "token--top10",
        "token--top100",
        "token--top100",
        "token--top1000",
        "token--top1000",
        "token--beyond",
    ]
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "greedy?")
        message = (await answered(pilot)).message
        assert message is not None
        message.token_view = True
        await pilot.pause()
        content = message.render()
        colours = {}
        for span in content.spans:
            word = content.plain[span.start : span.end]
            colours[word] = span.style.foreground  # type: ignore[union-attr]
        # rank 1 and rank 2000 tokens differ; equal ranks share a colour
        assert colours["Greedy"] != colours["."]
        assert colours["Greedy"] == colours[" picks"]
        assert len({colours[" the"], colours[" probable"], colours["."], colours["Greedy"]}) == 4
        assert "top 1000" in panel_text(app, "#token-legend")


async def test_typed_token_probability(tmp_path: Path, tiny_engine: Engine) -> None:
    app, _ = make_app(tmp_path, engine=tiny_engine)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "greedy?")
        message = (await answered(pilot)).message
        assert message is not None and len(message.steps) >= 3
        await pilot.press("ctrl+t", "right", "right", "p")  # p: into the lookup box
        assert app.focused is app.query_one("#token-lookup")
        await pilot.press("space", "t", "h", "e", "enter")
        await wait_until(pilot, lambda: "rank" in panel_text(app, "#token-lookup-result"))
        await pilot.press("escape")  # back to the answer
        assert app.focused is message
        prefix = tiny_engine.encode(PROMPT) + [s.token_id for s in message.steps[:2]]
        expected = continuation_logprobs(tiny_engine, prefix, " the")
        shown = panel_text(app, "#token-lookup-result")
        assert f"p={math.exp(expected[0].logprob):.3%} rank {expected[0].rank}" in shown


async def test_fork_continues_from_an_alternative_and_is_stored(
    tmp_path: Path, tiny_engine: Engine
) -> None:
    app, session = make_app(tmp_path, engine=tiny_engine)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "greedy?")
        original = (await answered(pilot)).message
        assert original is not None
        await pilot.press("ctrl+t", "right", "right")
        await pilot.pause()
        step = original.steps[2]
        alternative = next(p for p in step.top if p.token_id != step.token_id)
        await pilot.press("f")  # f: into the alternatives, the first one highlighted
        assert app.focused is app.query_one("#fork-options")
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: len(app.query(AssistantMessage)) == 2 and not app.runner.busy
        )
        fork = list(app.query(AssistantMessage))[1]
        assert fork.border_title == "fork at token 3"
        assert [s.token_id for s in fork.steps[:2]] == [s.token_id for s in original.steps[:2]]
        assert fork.steps[2].token_id == alternative.token_id
        # The continuation is what the model itself says after the new prefix (greedy).
        prefix = PROMPT + "".join(s.text for s in original.steps[:2]) + fork.steps[2].text
        settings = original.decoding
        assert isinstance(settings, DecodingSettings)
        rest = tiny_engine.generate(
            prefix, settings.replace(max_new_tokens=settings.max_new_tokens - 3)
        )
        assert [s.token_id for s in fork.steps[3:]] == [s.token_id for s in rest.steps]
        stored = session.history.message(fork.message_id)
        first_answer = session.history.message(original.message_id)
        assert stored.parent_id == first_answer.parent_id  # a sibling branch of the answer
        assert stored.text == fork.text and len(stored.tokens or []) == len(fork.steps)
        # reopened from the history, the fork is shown as a branch with its token view
        app._open_conversation(session.conversation_id)
        await pilot.pause()
        reopened = list(app.query(AssistantMessage))
        assert [m.border_title for m in reopened] == ["assistant", "branch"]
        assert [s.token_id for s in reopened[1].steps] == [s.token_id for s in fork.steps]


async def test_probs_and_compare(tmp_path: Path, tiny_engine: Engine) -> None:
    app, _ = make_app(tmp_path, engine=tiny_engine)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/probs Warsaw is the capital")
        await wait_until(pilot, lambda: bool(app.query(ProbsView)))
        view = app.query_one(ProbsView)
        expected = tiny_engine.next_token_distribution("Warsaw is the capital", k=20)
        assert [p.token_id for p in view.top] == [p.token_id for p in expected]
        await send(pilot, "/compare Beam search keeps")
        await wait_until(pilot, lambda: bool(app.query(CompareView)))
        compare = app.query_one(CompareView)
        assert compare.names == ["greedy", "balanced", "creative", "beam"]
        await wait_until(pilot, lambda: compare.done)
        names = [name for name, _ in compare.results]
        assert names == compare.names  # one model: the presets decode one after another
        # Each column streamed as it decoded: tokens as they came, beam search's running beams
        # at every step (its answer replaces them when the search ends).
        assert all(compare.partial_updates[name] >= 1 for name in compare.names)
        beam_column = str(list(compare.query("Static"))[-1].render())
        assert "log p (raw model)" in beam_column and "running beams" not in beam_column
        for name, generation in compare.results:  # the same continuations as a plain run
            settings = PRESETS[name].replace(max_new_tokens=COMPARE_MAX_TOKENS, seed=0)
            plain = tiny_engine.generate("Beam search keeps", settings)
            assert [s.token_id for s in generation.steps] == [s.token_id for s in plain.steps]
        greedy = compare.results[0][1]
        assert math.isclose(
            greedy.perplexity, math.exp(-greedy.sequence_logprob / len(greedy.steps))
        )
        first_column = str(compare.query("Static").first().render())
        assert "log p (raw model)" in first_column and "ppl" in first_column
        assert greedy.text.strip()[:10] in first_column


async def test_a_newer_compare_stops_the_running_one_and_says_so(
    tmp_path: Path, tiny_engine: Engine
) -> None:
    app, _ = make_app(tmp_path, engine=tiny_engine)
    async with app.run_test(size=SIZE) as pilot:
        # Holding the engine keeps the first /compare from decoding until the second took over.
        tiny_engine.lock.acquire()
        try:
            await send(pilot, "/compare Beam search keeps")
            await wait_until(pilot, lambda: len(app.query(CompareView)) == 1)
            await send(pilot, "/compare Greedy decoding picks")
            await wait_until(pilot, lambda: len(app.query(CompareView)) == 2)
        finally:
            tiny_engine.lock.release()
        first, second = list(app.query(CompareView))
        await wait_until(pilot, lambda: second.done)

        def columns(view: CompareView) -> list[str]:
            return [str(c.render()) for c in view.query("Static")]

        await wait_until(
            pilot, lambda: all("stopped (a newer /compare)" in c for c in columns(first))
        )
        assert not first.results  # none of the cut-short presets shows an answer
        assert [name for name, _ in second.results] == second.names
        assert not any("stopped" in c for c in columns(second))


async def test_settings_validation_presets_and_next_turn(tmp_path: Path) -> None:
    app, session = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, app.loaded.is_set)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "SettingsScreen")
        screen = app.screen
        screen.query_one("#field-temperature").value = "-1"  # type: ignore[attr-defined]
        await pilot.click("#apply")
        await pilot.pause()
        error = str(screen.query_one("#settings-error").render())
        assert "'temperature'" in error and "> 0" in error
        assert screen.query_one("#field-temperature").has_class("-invalid")
        assert app.screen is screen  # still open
        screen.query_one("#preset").value = "balanced"  # type: ignore[attr-defined]
        await pilot.pause()
        assert screen.query_one("#field-temperature").value == "0.7"  # type: ignore[attr-defined]
        screen.query_one("#field-seed").value = "7"  # type: ignore[attr-defined]
        # A Button ignores clicks during its 0.2 s press effect: wait for it to end.
        await wait_until(pilot, lambda: not screen.query_one("#apply").has_class("-active"))
        await pilot.click("#apply")
        await wait_until(pilot, lambda: app.screen is not screen)
        assert app.decoding is not None
        assert (app.decoding.strategy, app.decoding.temperature, app.decoding.seed) == (
            "sample",
            0.7,
            7,
        )
        await send(pilot, "next turn")
        await answered(pilot)
        assert session.turns[-1][1] == app.decoding


async def test_history_browse_and_reopen(tmp_path: Path) -> None:
    app, session = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "first conversation")
        await answered(pilot)
        first_id = session.conversation_id
        await pilot.press("ctrl+n")
        await send(pilot, "second conversation")
        await answered(pilot)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "HistoryScreen")
        options = app.screen.query_one("#history-list")
        assert options.option_count == 2  # type: ignore[attr-defined]
        search = app.screen.query_one("#history-search")
        search.focus()
        search.value = "first"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert options.option_count == 1  # type: ignore[attr-defined]
        await pilot.press("enter")  # the (only, highlighted) hit opens its conversation
        await pilot.press("enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ != "HistoryScreen")
        await pilot.pause()
        assert session.conversation_id == first_id
        assert [u.text for u in app.query(UserMessage)] == ["first conversation"]
        reopened = app.query_one(AssistantMessage)
        assert reopened.text == "".join(ANSWER) and len(reopened.steps) == len(ANSWER)


async def test_export_json_and_markdown_and_copy(tmp_path: Path) -> None:
    app, session = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "export me")
        await answered(pilot)
        await send(pilot, "/export json")
        path = tmp_path / "exports" / f"conversation-{session.conversation_id}.json"
        await wait_until(pilot, path.exists)
        data = json.loads(path.read_text())
        assert [m["role"] for m in data["messages"]] == ["user", "assistant"]
        await pilot.press("ctrl+e")
        md = path.with_suffix(".md")
        await wait_until(pilot, md.exists)
        assert "export me" in md.read_text()
        await pilot.press("ctrl+y")
        assert app.clipboard == "".join(ANSWER)


async def test_model_document_and_tool_text_is_literal(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "markup please")
        message = (await answered(pilot)).message
        assert message is not None and message.text == "".join(HOSTILE)
        for view in (False, True):
            message.token_view = view
            await pilot.pause()
            content = message.render()
            plain = content.plain
            assert "[bold]loud[/bold]" in plain and " [/" in plain
            assert "[link=http://evil]x[/link]" in plain
            assert "\x1b" not in plain and "\x07" not in plain
            assert "\\x1b[31mred" in plain and "\\x1b]8;;http://e\\x07l" in plain
            assert all(not getattr(s.style, "link", None) for s in content.spans)
        # the whole screen: no escape character reaches the terminal output either
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "[bold]loud[/bold]" in svg


async def test_help_and_palette_list_every_command(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/help")
        await pilot.pause()
        shown = str(app.query(NoticeLine).last().render())
        titles = [str(Content.from_markup(c.title)) for c in app.get_system_commands(app.screen)]
        for command in commands.COMMANDS:
            assert command.usage in shown
            assert command.usage in titles
        assert "/calc EXPR" in titles and "/calc EXPR" in shown  # the router's commands too
