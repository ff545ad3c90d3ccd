"""The conversation's kept KV prefix through ChatSession: regenerate and fork reuse it, a new
or reopened conversation drops it, and a fork of a reopened answer works (the history keeps
the prompt). Tiny model, real SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assistant.chat.events import TokenGenerated, TurnDone, TurnError
from assistant.chat.history import HistoryStore
from assistant.chat.session import ChatSession
from assistant.core import DecodingSettings, Engine
from assistant.core.types import TokenStep
from tests.chat_support import chat_settings, of_type, write_docs

FAST = DecodingSettings(strategy="greedy", max_new_tokens=6, top_logprobs=3)
QUESTION = "What does greedy decoding do?"


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> Engine:
    return Engine.load(str(tiny_model_dir), allow_fallback=False, threads=1)


@pytest.fixture
def session(tmp_path: Path, tiny_model_dir: Path, engine: Engine) -> ChatSession:
    settings = chat_settings(tmp_path / "home", tiny_model_dir, write_docs(tmp_path / "docs"))
    return ChatSession(settings, engine=engine, history=HistoryStore(tmp_path / "h.sqlite3"))


def answer(session: ChatSession, events: Any) -> TurnDone:
    (done,) = of_type(list(events), TurnDone)
    return done


def test_regenerate_reuses_the_prompt_and_gives_the_same_answer(
    session: ChatSession, engine: Engine
) -> None:
    first = answer(session, session.turn(QUESTION, decoding=FAST))  # as regenerate: with RAG
    assert session.last_turn is not None and session.last_turn.reused_prompt_tokens == 0
    first_steps = session.last_turn.steps
    assert session.prefix_key in engine.prefixes.lengths()
    again = answer(session, session.regenerate(QUESTION, decoding=FAST))
    record = session.last_turn
    assert record is not None and record.budget is not None
    assert record.reused_prompt_tokens == record.budget.prompt_tokens - 1
    assert again.text == first.text
    for a, b in zip(first_steps, record.steps, strict=True):
        assert abs(a.logprob - b.logprob) < 1e-5


def test_a_new_or_reopened_conversation_drops_the_prefix(
    session: ChatSession, engine: Engine
) -> None:
    answer(session, session.turn(QUESTION, decoding=FAST, use_rag=False))
    conversation = session.conversation_id
    assert conversation is not None and session.prefix_key in engine.prefixes.lengths()
    session.new_conversation()
    assert session.prefix_key not in engine.prefixes.lengths()
    answer(session, session.turn(QUESTION, decoding=FAST, use_rag=False))
    assert session.last_turn is not None and session.last_turn.reused_prompt_tokens == 0
    session.open_conversation(conversation)
    assert session.prefix_key not in engine.prefixes.lengths()


def test_a_fork_of_a_reopened_answer_works(
    tmp_path: Path, session: ChatSession, engine: Engine, tiny_model_dir: Path
) -> None:
    done = answer(session, session.turn(QUESTION, decoding=FAST, use_rag=False))
    assert done.message_id is not None and session.conversation_id is not None
    # Another session (a restarted chat) reopens the conversation from the history alone.
    settings = chat_settings(tmp_path / "home", tiny_model_dir, tmp_path / "docs")
    reopened = ChatSession(settings, engine=engine, history=HistoryStore(tmp_path / "h.sqlite3"))
    messages = reopened.open_conversation(session.conversation_id)
    stored = next(m for m in messages if m.id == done.message_id)
    prompt = stored.budget["prompt"] if stored.budget else ""
    assert prompt == session.last_turn.budget.prompt  # type: ignore[union-attr]
    steps = [TokenStep.from_dict(item) for item in stored.tokens or []]
    alternative = next(p for p in steps[1].top if p.token_id != steps[1].token_id)
    events = list(
        reopened.fork(
            prompt, steps, 1, alternative.token_id, decoding=FAST, message_id=done.message_id
        )
    )
    assert not of_type(events, TurnError)
    tokens = [e.step for e in of_type(events, TokenGenerated)]
    assert tokens[0].token_id == alternative.token_id and len(tokens) == FAST.max_new_tokens - 1
    # The fork is stored with the prompt too: a fork of the fork works after reopening.
    fork_id = events[-1].message_id
    store = reopened.history_store()
    assert store is not None and fork_id is not None
    assert (store.message(fork_id).budget or {}).get("prompt") == prompt
