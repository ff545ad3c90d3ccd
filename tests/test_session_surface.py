"""ChatSession's public surface (chat/session_protocol.py): the Protocol the TUI uses, model
info, forks and regenerations stored as branches, the shared default decoding, and the
per-turn tool-call cap read from mcp.json. Tiny model, real SQLite, real stdio MCP servers."""

from __future__ import annotations

import argparse
import inspect
import json
from pathlib import Path
from typing import Any

import pytest

from assistant.chat.default_decoding import DEFAULT_DECODING
from assistant.chat.events import (
    RouteDecided,
    TokenGenerated,
    ToolCallFinished,
    ToolCallStarted,
    TurnDone,
    TurnError,
)
from assistant.chat.history import HistoryStore
from assistant.chat.session import ChatSession
from assistant.chat.session_protocol import ChatSessionLike
from assistant.cli.decoding_flags import add_decoding_flags
from assistant.core import DecodingSettings, Engine
from tests.chat_support import chat_settings, of_type, write_docs
from tests.tui_fakes import FakeSession

FAST = DecodingSettings(strategy="greedy", max_new_tokens=6, top_logprobs=3)


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> Engine:
    return Engine.load(str(tiny_model_dir), allow_fallback=False, threads=1)


@pytest.fixture
def settings(tmp_path: Path, tiny_model_dir: Path) -> Any:
    return chat_settings(tmp_path / "home", tiny_model_dir, write_docs(tmp_path / "docs"))


@pytest.fixture
def session(settings: Any, engine: Engine, tmp_path: Path) -> ChatSession:
    return ChatSession(settings, engine=engine, history=HistoryStore(tmp_path / "h.sqlite3"))


def answer(session: ChatSession, text: str) -> TurnDone:
    events = list(session.turn(text, decoding=FAST, use_tools=False, use_rag=False))
    (done,) = of_type(events, TurnDone)
    return done


def protocol_members() -> list[str]:
    return [
        name
        for name in dir(ChatSessionLike)
        if not name.startswith("_") and callable(getattr(ChatSessionLike, name))
    ]


@pytest.mark.parametrize("implementation", [ChatSession, FakeSession])
def test_session_and_fake_implement_the_protocol_with_its_signatures(
    implementation: type,
) -> None:
    members = protocol_members()
    assert {"turn", "fork", "regenerate", "model_info", "loaded_engine"} <= set(members)
    for name in members:
        expected = inspect.signature(getattr(ChatSessionLike, name))
        assert inspect.signature(getattr(implementation, name)) == expected, name
    assert isinstance(inspect.getattr_static(implementation, "conversation_id"), property)


def test_model_info_never_loads_and_says_what_was_loaded(settings: Any, engine: Engine) -> None:
    lazy = ChatSession(settings, history=HistoryStore(":memory:"))
    assert lazy.model_info() is None and lazy.loaded_engine() is None
    list(lazy.turn("what is beam search?", decoding=FAST, use_rag=False, dry_run=True))
    counted = lazy.model_info()
    assert counted is not None and not counted.loaded and lazy.loaded_engine() is None
    assert counted.to_dict() == {"model": settings.model, "context_length": 128}
    loaded = ChatSession(settings, engine=engine, history=HistoryStore(":memory:"))
    info = loaded.model_info()
    assert info is not None and info.loaded and loaded.loaded_engine() is engine
    assert info.to_dict()["source"] == engine.loaded.source and info.context_length == 128


def test_fork_streams_as_a_turn_and_is_stored_as_a_sibling(
    session: ChatSession, engine: Engine
) -> None:
    done = answer(session, "What does greedy decoding do?")
    store = session.history_store()
    assert store is not None and done.message_id is not None
    original = store.message(done.message_id)
    steps = session.last_turn.steps if session.last_turn else []
    prompt = (
        session.last_turn.budget.prompt if session.last_turn and session.last_turn.budget else ""
    )
    alternative = next(p for p in steps[1].top if p.token_id != steps[1].token_id)
    events = list(
        session.fork(
            prompt, steps, 1, alternative.token_id, decoding=FAST, message_id=done.message_id
        )
    )
    assert isinstance(events[-1], TurnDone) and not of_type(events, TurnError)
    tokens = [e.step for e in of_type(events, TokenGenerated)]
    assert tokens[0].token_id == alternative.token_id and len(tokens) == FAST.max_new_tokens - 1
    forked = store.message(events[-1].message_id)
    assert forked.parent_id == original.parent_id and forked.id != original.id
    assert forked.text == steps[0].text + "".join(t.text for t in tokens)
    # the next question continues the fork's branch
    follow = answer(session, "And beam search?")
    branch = [m.id for m in store.branch(follow.message_id)]
    assert forked.id in branch and original.id not in branch


def test_fork_before_the_model_loaded_is_an_error_event(settings: Any) -> None:
    lazy = ChatSession(settings, history=HistoryStore(":memory:"))
    events = list(lazy.fork("p", [], 0, 1, decoding=FAST))
    assert [type(e) for e in events] == [TurnError]


def test_regenerate_stores_a_sibling_of_the_latest_answer(session: ChatSession) -> None:
    first = answer(session, "What is greedy decoding?")
    second = answer(session, "And beam search?")
    events = list(session.regenerate("And beam search?", decoding=FAST))
    (again,) = of_type(events, TurnDone)
    store = session.history_store()
    assert store is not None
    old_question = store.message(store.message(second.message_id).parent_id or 0)
    new_question = store.message(store.message(again.message_id).parent_id or 0)
    assert new_question.id != old_question.id and new_question.text == "And beam search?"
    assert new_question.parent_id == old_question.parent_id == first.message_id
    assert session.conversation_id == store.message(first.message_id).conversation_id


def test_regenerating_the_first_answer_is_a_new_root_of_the_conversation(
    session: ChatSession,
) -> None:
    first = answer(session, "What is greedy decoding?")
    (again,) = of_type(
        list(session.regenerate("What is greedy decoding?", decoding=FAST)), TurnDone
    )
    store = session.history_store()
    assert store is not None
    question = store.message(store.message(again.message_id).parent_id or 0)
    assert question.parent_id is None and question.conversation_id == session.conversation_id
    assert first.message_id not in [m.id for m in store.branch(again.message_id)]


def test_ask_and_the_chat_share_one_default_decoding(session: ChatSession) -> None:
    from assistant.chat.default_decoding import default_decoding_fields
    from assistant.cli.decoding_flags import decoding_from_args

    parser = argparse.ArgumentParser()
    add_decoding_flags(parser)
    assert decoding_from_args(parser.parse_args([]), **default_decoding_fields()) == (
        DEFAULT_DECODING
    )
    assert session.default_decoding is DEFAULT_DECODING
    assert DEFAULT_DECODING.max_new_tokens == 96 and DEFAULT_DECODING.grounding == "copy"


@pytest.mark.parametrize("cap", [1, None])
def test_max_calls_per_turn_from_mcp_json_limits_a_turn(
    settings: Any, engine: Engine, cap: int | None
) -> None:
    options = {"max_calls_per_turn": cap} if cap is not None else {}
    settings.config_dir.mkdir(parents=True, exist_ok=True)
    settings.mcp_config_file.write_text(json.dumps({"assistant": options}), encoding="utf-8")
    session = ChatSession(settings, engine=engine, history=HistoryStore(":memory:"))
    try:
        events = list(session.turn("What is 2+3? And what is 4*5?", decoding=FAST, use_rag=False))
    finally:
        session.close()
    (route,) = of_type(events, RouteDecided)
    finished = of_type(events, ToolCallFinished)
    if cap == 1:
        assert [c.arguments["expression"] for c in route.calls] == ["2+3"]
        assert "1 more request(s) skipped (at most 1 per turn)" in route.explanation
        assert len(of_type(events, ToolCallStarted)) == len(finished) == 1
        assert finished[0].ok and "5" in finished[0].text
    else:  # the default cap (3) lets both through
        assert len(route.calls) == len(finished) == 2 and "skipped" not in route.explanation


def test_the_router_takes_the_cap_for_commands_and_plain_questions() -> None:
    from assistant.tools.router import route

    calls, why = route("What is 1+1? What is 2+2?", max_calls=1)
    assert len(calls) == 1 and "1 more request(s) skipped (at most 1 per turn)" in why
    calls, why = route("/calc 2+2", max_calls=0)
    assert calls == [] and "skipped (at most 0 per turn)" in why
    assert len(route("/calc 2+2", max_calls=1)[0]) == 1
