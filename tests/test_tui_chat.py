"""Pilot tests of the chat app over a scripted session: send, stream, stop, tools, sources."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from assistant.chat.events import Notice
from assistant.tui.app import AssistantApp
from assistant.tui.widgets.answer_block import AnswerBlock
from assistant.tui.widgets.assistant_message import AssistantMessage
from assistant.tui.widgets.cards import NoticeLine, ToolCard, UserMessage
from tests.tui_fakes import ANSWER, FakeSession

pytestmark = pytest.mark.asyncio
SIZE = (110, 40)


def make_app(tmp_path: Path, **kwargs: object) -> tuple[AssistantApp, FakeSession]:
    session = FakeSession(tmp_path / "history.db", **kwargs)  # type: ignore[arg-type]
    return app_of(session, tmp_path / "exports"), session


def app_of(session: FakeSession, export_dir: Path) -> AssistantApp:
    """The app over ``session`` (a FakeSession or a subclass), its approvals wired in."""

    def factory(approve: Any) -> FakeSession:
        session.approve = approve
        return session

    return AssistantApp(factory, export_dir=export_dir)


async def wait_until(pilot: Pilot[None], condition: Callable[[], bool], tries: int = 3000) -> None:
    """Let the app process events until ``condition`` holds (no fixed sleeps; gives up
    after ``tries`` short pauses, about 30 s, so a broken app fails instead of hanging)."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError("condition not reached")


async def send(pilot: Pilot[None], text: str) -> None:
    app = pilot.app
    assert isinstance(app, AssistantApp)
    await wait_until(pilot, app.loaded.is_set)
    await pilot.click("#input")
    app.query_one("#input").insert(text)  # type: ignore[attr-defined]
    await pilot.press("enter")


async def answered(pilot: Pilot[None]) -> AnswerBlock:
    app = pilot.app
    assert isinstance(app, AssistantApp)
    await wait_until(pilot, lambda: not app.runner.busy and bool(app.query(AnswerBlock)))
    await pilot.pause()
    return list(app.query(AnswerBlock))[-1]


async def test_send_streams_the_answer_with_sources_and_budget(tmp_path: Path) -> None:
    app, session = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "what does greedy decoding do?")
        block = await answered(pilot)
        assert [u.text for u in app.query(UserMessage)] == ["what does greedy decoding do?"]
        assert block.message is not None
        assert block.message.text == "".join(ANSWER)
        assert len(block.message.steps) == len(ANSWER)
        assert block.sources is not None and len(block.sources.passages) == 2
        assert "dropped: corpus/glossary.md:3-5" in str(block.query_one("BudgetMeter").render())
        assert app.header.status == "ready"
        assert session.turns[0][0] == "what does greedy decoding do?"
        assert app.query_one("#input").text == ""  # type: ignore[attr-defined]


async def test_load_notices_are_shown_and_chat_goes_on(tmp_path: Path) -> None:
    notices = [
        Notice("model unavailable: no such model", "error"),
        Notice("index is empty", "warning"),
    ]
    app, _ = make_app(tmp_path, notices=notices)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, app.loaded.is_set)
        await pilot.pause()
        shown = [str(n.render()) for n in app.query(NoticeLine)]
        assert any("no such model" in s for s in shown) and any(
            "index is empty" in s for s in shown
        )
        await send(pilot, "still there?")
        block = await answered(pilot)
        assert block.message is not None and block.message.text


async def test_escape_stops_and_keeps_the_partial_answer(tmp_path: Path) -> None:
    app, session = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "hold on")
        await wait_until(pilot, session.holding.is_set)
        await pilot.press("escape")
        block = await answered(pilot)
        assert block.message is not None
        assert block.message.text == "".join(ANSWER[:3])
        assert block.message.finish_reason == "cancelled"
        assert app.header.status == "stopped"


@pytest.mark.parametrize(("key", "approved"), [("y", True), ("n", False)])
async def test_tool_card_and_approval(tmp_path: Path, key: str, approved: bool) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "calc 2+2")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ApprovalScreen")
        assert '"expression": "2+2"' in str(app.screen.query_one("#approval-args Static").render())
        await pilot.press(key)
        block = await answered(pilot)
        card = block.query_one(ToolCard)
        text = str(card.render())
        assert "calculator.evaluate" in str(card.border_title)
        if approved:
            assert card.has_class("-ok") and "4 [bold]not bold[/]" in text and "12 ms" in text
        else:
            assert card.has_class("-error") and "denied" in text


async def test_approve_for_session_is_remembered(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "calc 1")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ApprovalScreen")
        await pilot.press("a")
        await answered(pilot)
        await send(pilot, "calc 2")
        block = await answered(pilot)
        assert block.query_one(ToolCard).has_class("-ok")  # no second question asked


async def test_selecting_a_source_shows_the_full_passage(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "greedy?")
        block = await answered(pilot)
        item = block.query("SourceItem").first()
        assert "corpus/decoding.md:10-24" in str(item.render())
        item.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "PassageScreen")
        text = str(app.screen.query_one("#passage-text").render())
        assert text == "Greedy decoding takes the argmax [bold]always[/]."
        await pilot.press("escape")
        await wait_until(pilot, lambda: type(app.screen).__name__ != "PassageScreen")
        assert block.message is not None
        block.message.focus()
        await pilot.press("2")  # from the answer: number keys open its sources
        await wait_until(pilot, lambda: type(app.screen).__name__ == "PassageScreen")
        assert str(app.screen.query_one("#passage-text").render()) == "Token: a unit of text."


async def test_regenerate_and_new_chat(tmp_path: Path) -> None:
    app, session = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "first question")
        await answered(pilot)
        await pilot.press("ctrl+r")
        await wait_until(
            pilot, lambda: len(app.query(AssistantMessage)) == 2 and not app.runner.busy
        )
        assert [t for t, _ in session.turns] == ["first question", "first question"]
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert not app.query(AssistantMessage) and session.conversation_id is None


async def test_ctrl_j_inserts_a_newline_and_enter_sends_it(tmp_path: Path) -> None:
    app, session = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, app.loaded.is_set)
        await pilot.click("#input")
        await pilot.press("a", "ctrl+j", "b")
        assert app.query_one("#input").text == "a\nb"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await answered(pilot)
        assert session.turns[-1][0] == "a\nb"


async def test_a_batch_of_tokens_is_one_update_and_finished_answers_are_cached(
    tmp_path: Path,
) -> None:
    from assistant.chat.events import TokenGenerated, TurnDone
    from tests.tui_fakes import make_step

    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        block = AnswerBlock()
        await app.log_view.mount(block)
        calls: list[int] = []
        events = [TokenGenerated(make_step(i, f" w{i}", 1)) for i in range(300)]
        block.ensure_message()
        assert block.message is not None
        original = block.message.append_steps
        block.message.append_steps = lambda steps: (calls.append(len(steps)), original(steps))  # type: ignore[method-assign]
        assert block.apply(events) == 300
        assert calls == [300]  # the whole batch in one update (one refresh)
        block.apply([TurnDone(None, block.message.text, "eos")])
        await pilot.pause()
        first = block.message.render()
        assert block.message.render() is first  # nothing rebuilt for a finished answer


async def test_a_session_that_cannot_start_is_reported_not_raised(tmp_path: Path) -> None:
    def factory(approve: object) -> FakeSession:
        raise OSError("disk full")

    app = AssistantApp(factory, export_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.header.status == "load failed")
        assert any("disk full" in str(n.render()) for n in app.query(NoticeLine))
        await pilot.click("#input")
        await pilot.press("h", "i", "enter")
        block = await answered(pilot)
        assert block.error is not None and "disk full" in block.error


async def test_page_keys_scroll_the_log_from_the_input(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=(80, 16)) as pilot:
        for n in range(3):
            await send(pilot, f"question {n}")
            await answered(pilot)
        log = app.log_view
        await wait_until(pilot, lambda: log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y)
        await pilot.press("pageup")
        await wait_until(pilot, lambda: log.scroll_y < log.max_scroll_y)
        assert app.focused is app.query_one("#input")


async def test_short_conversation_starts_at_the_top_and_long_one_follows_the_end(
    tmp_path: Path,
) -> None:
    # Regression: anchoring a conversation shorter than the view drew it bottom-aligned
    # (negative scroll_y) with stale cells beside it.
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "first question?")
        await answered(pilot)
        log = app.log_view
        assert log.scroll_y == 0
        assert app.query_one(UserMessage).region.y <= 3
        for i in range(3):
            await send(pilot, f"question {i}?")
            await answered(pilot)
        await wait_until(pilot, lambda: log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y)
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: not app.query(UserMessage))
        assert log.scroll_y == 0 and not log.is_anchored
