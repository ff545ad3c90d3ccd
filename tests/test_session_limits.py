"""ChatSession limits and failures: the context bound, cancellation, errors, conversations,
dry runs, degraded start-up. Uses the 128-position tiny model and an in-memory retriever."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from assistant.chat.events import (
    Notice,
    PromptBudget,
    RouteDecided,
    TokenGenerated,
    ToolCallStarted,
    TurnDone,
    TurnError,
)
from assistant.chat.history import HistoryStore
from assistant.chat.session import ChatSession
from assistant.core import DecodingSettings, Engine
from assistant.rag import Passage
from tests.chat_support import chat_settings, of_type, write_docs

LONG = "Beam search keeps the best partial sequences at every step of decoding. " * 30


class ListRetriever:
    """Returns fixed passages, best first (the interface ChatSession uses)."""

    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages
        self.queries: list[str] = []

    def search(self, query: str, k: int = 5) -> list[Passage]:
        self.queries.append(query)
        return self.passages[:k]

    def search_state(self) -> tuple[int, bool]:
        return 0, False  # fixed passages: the same for the same question

    def close(self) -> None:
        pass


def passage(i: int, text: str, score: float) -> Passage:
    return Passage(f"notes/{i}.md", 1, 40, None, text, score, score, None, i)


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> Engine:
    engine = Engine.load(str(tiny_model_dir), allow_fallback=False, threads=1)
    engine.truncate_prompt = False  # an over-long prompt would raise instead of being cut
    return engine


@pytest.fixture
def settings(tmp_path: Path, tiny_model_dir: Path) -> Any:
    return chat_settings(tmp_path / "home", tiny_model_dir, write_docs(tmp_path / "docs"))


@pytest.fixture
def session(settings: Any, engine: Engine, tmp_path: Path) -> ChatSession:
    retriever = ListRetriever([passage(i, LONG, 1.0 - i / 10) for i in range(4)])
    return ChatSession(
        settings,
        engine=engine,
        retriever=retriever,  # type: ignore[arg-type]
        history=HistoryStore(tmp_path / "history.sqlite3"),
    )


def decoding(n: int = 8) -> DecodingSettings:
    return DecodingSettings(strategy="greedy", max_new_tokens=n, top_logprobs=2)


def test_prompt_over_the_context_never_reaches_the_model(
    session: ChatSession, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    real_stream = engine.stream

    def spy(
        prompt: str,
        settings: Any = None,
        stop_event: Any = None,
        grounding: Any = None,
        cache_key: Any = None,
    ) -> Any:
        seen.append(engine.count_tokens(prompt))
        return real_stream(prompt, settings, stop_event, grounding, cache_key)

    monkeypatch.setattr(engine, "stream", spy)
    for n in (8, 40, 70):
        question = "Why does beam search keep several sequences? " * 12
        events = list(session.turn(question, decoding=decoding(n), use_tools=False))
        assert not of_type(events, TurnError), events
        (budget,) = of_type(events, PromptBudget)
        assert seen[-1] == budget.prompt_tokens <= 128 - n
        assert budget.dropped or any(p.cut for p in budget.parts)
        assert of_type(events, TurnDone)


def test_no_room_for_any_prompt_is_a_prompt_error(session: ChatSession) -> None:
    events = list(session.turn("hello?", decoding=decoding(127), use_tools=False))
    (error,) = of_type(events, TurnError)
    assert error.stage == "prompt" and "max_new_tokens" in error.message
    assert not of_type(events, TokenGenerated)
    assert of_type(list(session.turn("hello?", decoding=decoding(4))), TurnDone)


def test_cancel_keeps_the_partial_answer(session: ChatSession) -> None:
    stop = threading.Event()
    events = []
    for event in session.turn("hello?", decoding=decoding(60), stop_event=stop, use_rag=False):
        events.append(event)
        if isinstance(event, TokenGenerated):
            stop.set()
    (done,) = of_type(events, TurnDone)
    assert done.finish_reason == "cancelled"
    tokens = of_type(events, TokenGenerated)
    assert 1 <= len(tokens) < 60
    stored = session.parts.history().message(done.message_id)
    assert stored.finish_reason == "cancelled"
    assert stored.text == done.text == "".join(t.step.text for t in tokens)


def test_a_failing_stage_is_an_error_event_and_the_session_goes_on(
    session: ChatSession, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_stream = engine.stream
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("simulated failure")
        return real_stream(*args, **kwargs)

    monkeypatch.setattr(engine, "stream", flaky)
    events = list(session.turn("first?", decoding=decoding(), use_rag=False))
    (error,) = of_type(events, TurnError)
    assert error.stage == "generation" and "simulated failure" in error.message
    assert of_type(list(session.turn("second?", decoding=decoding(), use_rag=False)), TurnDone)


def test_missing_model_is_an_error_event_not_an_exception(settings: Any, tmp_path: Path) -> None:
    broken = settings.model_copy(update={"model": str(tmp_path / "no-model")})
    retriever: Any = ListRetriever([])
    session = ChatSession(broken, retriever=retriever, history=HistoryStore(":memory:"))
    events = list(session.turn("hello?", decoding=decoding(), use_tools=False))
    (error,) = of_type(events, TurnError)
    assert error.stage == "generation" and "no-model" in error.message
    notices = session.load()
    assert any(n.level == "error" and "model" in n.text for n in notices)


def test_degraded_start_up_gives_notices(settings: Any, engine: Engine, tmp_path: Path) -> None:
    degraded = settings.model_copy(update={"documents": [tmp_path / "missing-folder"]})
    degraded.config_dir.mkdir(parents=True, exist_ok=True)
    degraded.mcp_config_file.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "broken": {"command": sys.executable, "args": ["-c", "raise SystemExit(3)"]}
                }
            }
        )
    )
    session = ChatSession(degraded, engine=engine, history=HistoryStore(":memory:"))
    try:
        notices = session.load()
        texts = " | ".join(n.text for n in notices)
        assert "retrieval unavailable" in texts and "broken" in texts, texts
        events = list(session.turn("what is 2+3?", decoding=decoding()))
        assert of_type(events, TurnDone), events
        assert of_type(events, RouteDecided)[0].calls[0].name == "calculator.evaluate"
    finally:
        session.close()


def test_history_goes_into_the_prompt_and_branches(session: ChatSession) -> None:
    store = session.parts.history()
    cid = store.new_conversation("earlier")
    q = store.add_message(cid, "user", "What is greedy?")
    a = store.add_message(cid, "assistant", "It picks the top token.", parent_id=q)
    session.open_conversation(cid)
    assert session.history_pairs() == [("What is greedy?", "It picks the top token.")]
    events = list(session.turn("And beam?", decoding=decoding(4), use_rag=False))
    (budget,) = of_type(events, PromptBudget)
    assert "Question: What is greedy?\nAnswer: It picks the top token." in budget.prompt
    (done,) = of_type(events, TurnDone)
    branch = store.branch(done.message_id)
    assert [m.id for m in branch[:2]] == [q, a] and branch[2].text == "And beam?"
    session.new_conversation()
    assert session.conversation_id is None and session.history_pairs() == []
    events = list(session.turn("Fresh start?", decoding=decoding(4), use_rag=False))
    (budget,) = of_type(events, PromptBudget)
    assert "What is greedy?" not in budget.prompt
    assert session.conversation_id not in (None, cid)
    assert store.conversation(session.conversation_id).title == "Fresh start?"


def test_dry_run_needs_no_model_and_runs_no_tool(settings: Any, tmp_path: Path) -> None:
    retriever = ListRetriever([passage(1, "Beam search keeps sequences.", 0.9)])
    store = HistoryStore(tmp_path / "dry.sqlite3")
    session = ChatSession(settings, retriever=retriever, history=store)  # type: ignore[arg-type]
    events = list(session.turn("what is 2^20?", decoding=decoding(), dry_run=True))
    assert [c.name for c in of_type(events, RouteDecided)[0].calls] == ["calculator.evaluate"]
    assert not of_type(events, ToolCallStarted) and not of_type(events, TokenGenerated)
    (budget,) = of_type(events, PromptBudget)
    assert "Beam search keeps sequences." in budget.prompt
    (done,) = of_type(events, TurnDone)
    assert done.dry_run and done.message_id is None
    assert not session.parts.engine_loaded
    assert store.list_conversations() == []
    assert not [e for e in events if isinstance(e, Notice) and e.level == "error"]


def test_max_prompt_tokens_setting_caps_the_prompt(
    settings: Any, engine: Engine, tmp_path: Path
) -> None:
    capped = settings.model_copy(update={"max_prompt_tokens": 60})
    retriever: Any = ListRetriever([passage(i, LONG, 1.0 - i / 10) for i in range(4)])
    session = ChatSession(
        capped, engine=engine, retriever=retriever, history=HistoryStore(":memory:")
    )
    events = list(session.turn("What does beam search keep?", decoding=decoding(), use_tools=False))
    (budget,) = of_type(events, PromptBudget)
    assert budget.available == 60 and budget.prompt_tokens <= 60
    assert engine.count_tokens(budget.prompt) == budget.prompt_tokens
    assert of_type(events, TurnDone)
