"""A conversation's last prompt ids, copy index and prompt budget serve its next decode only
when what they were made from is the same: regenerate gets the same answer without
tokenising or indexing again, other passages or another conversation get their own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assistant.chat.events import TurnDone
from assistant.chat.history import HistoryStore
from assistant.chat.session import ChatSession
from assistant.core import DecodingSettings, Engine
from assistant.core import engine as engine_module
from assistant.core.conversation_memo import ConversationMemo
from assistant.core.grounding import CopyIndex, GroundingInput, SourceText
from tests.chat_support import chat_settings, of_type, write_docs

PASSAGE = "Warsaw is the capital city of Poland. Kraków is an old city in the south."
OTHER = "Prague is the capital of Czechia. Brno is a city in Moravia."
QUESTION = "Which city is the capital?"
GROUNDED = DecodingSettings(max_new_tokens=10, grounding="copy", top_logprobs=3)


def prompt_for(text: str) -> str:
    return f"Context:\n[1] (notes.md:3-3)\n{text}\n\nQuestion: {QUESTION}\nAnswer:"


def grounding(text: str) -> GroundingInput:
    return GroundingInput(QUESTION, (SourceText("notes.md:3-3", text),))


def same_provenance(a: Any, b: Any) -> bool:
    """Equal where it comes from; its probabilities within 1e-6 (a reused prefix's float
    noise)."""
    assert a is not None and b is not None
    close = all(
        abs(x - y) < 1e-6
        for x, y in ((a.model_prob, b.model_prob), (a.copy_prob, b.copy_prob), (a.weight, b.weight))
    )
    where = (a.match_length, a.source, a.passage, a.line)
    return close and where == (b.match_length, b.source, b.passage, b.line)


@pytest.fixture
def engine(tiny_model_dir: Path) -> Engine:
    return Engine.load(str(tiny_model_dir), allow_fallback=False, threads=1)


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The question of every copy index the engine builds."""
    made: list[str] = []
    real = CopyIndex.build

    def counting(tokenizer: Any, found: GroundingInput, *args: Any) -> CopyIndex:
        made.append(found.sources[0].text)
        return real(tokenizer, found, *args)

    monkeypatch.setattr(engine_module.CopyIndex, "build", counting)
    return made


def test_the_memo_serves_an_equal_input_and_rebuilds_for_another() -> None:
    memo: ConversationMemo[str, list[str]] = ConversationMemo(max_keys=2)
    built: list[str] = []

    def get(key: str | None, value: str) -> list[str]:
        def build() -> list[str]:
            built.append(value)
            return [value]

        return memo.get(key, value, build)

    first = get("a", "x")
    assert get("a", "x") is first and built == ["x"]
    assert get("a", "y") == ["y"] and built == ["x", "y"]  # another input: built, replaces
    assert get("a", "x") == ["x"] and built == ["x", "y", "x"]
    get(None, "x")  # no conversation: built, never kept
    assert built[-1] == "x" and len(memo) == 1
    get("b", "x"), get("c", "x")  # bounded: the least recently used key goes
    assert len(memo) == 2
    get("a", "x")  # "a" was the one that went: built again
    assert built.count("x") == 6
    memo.drop("c")
    assert len(memo) == 1
    memo.drop()
    assert len(memo) == 0


def test_regenerate_reuses_the_copy_index_and_prompt_ids(
    engine: Engine, tiny_model_dir: Path, builds: list[str]
) -> None:
    fresh = Engine.load(str(tiny_model_dir), allow_fallback=False, threads=1)
    reference = fresh.generate(prompt_for(PASSAGE), GROUNDED, grounding=grounding(PASSAGE))
    assert builds == [PASSAGE]
    for _ in range(2):  # the turn, then a regenerate of it
        out = engine.generate(
            prompt_for(PASSAGE), GROUNDED, grounding=grounding(PASSAGE), cache_key="chat"
        )
        assert [s.token_id for s in out.steps] == [s.token_id for s in reference.steps]
        for a, b in zip(out.steps, reference.steps, strict=True):
            assert a.logprob == pytest.approx(b.logprob, abs=1e-5)
            assert a.processed_logprob == pytest.approx(b.processed_logprob, abs=1e-5)
            assert same_provenance(a.provenance, b.provenance)
    assert builds == [PASSAGE, PASSAGE]  # the engine's own index was built once
    assert len(engine.prompt_ids) == 1 and len(engine.copy_indexes) == 1


def test_other_passages_or_another_conversation_get_their_own_index(
    engine: Engine, tiny_model_dir: Path, builds: list[str]
) -> None:
    fresh = Engine.load(str(tiny_model_dir), allow_fallback=False, threads=1)
    expected = fresh.generate(prompt_for(OTHER), GROUNDED, grounding=grounding(OTHER))
    builds.clear()
    engine.generate(prompt_for(PASSAGE), GROUNDED, grounding=grounding(PASSAGE), cache_key="a")
    other = engine.generate(prompt_for(OTHER), GROUNDED, grounding=grounding(OTHER), cache_key="a")
    engine.generate(prompt_for(PASSAGE), GROUNDED, grounding=grounding(PASSAGE), cache_key="b")
    assert builds == [PASSAGE, OTHER, PASSAGE]
    assert [s.token_id for s in other.steps] == [s.token_id for s in expected.steps]
    for a, b in zip(other.steps, expected.steps, strict=True):
        assert same_provenance(a.provenance, b.provenance)
    engine.forget_prefix("a")
    assert len(engine.copy_indexes) == 1 and len(engine.prompt_ids) == 1
    engine.generate(prompt_for(PASSAGE), GROUNDED, grounding=grounding(PASSAGE), cache_key="a")
    assert builds[-1] == PASSAGE and len(builds) == 4  # forgotten: built again
    engine.forget_prefix()
    assert len(engine.copy_indexes) == 0 and len(engine.prompt_ids) == 0


def test_a_different_question_over_the_same_passages_is_indexed_again(
    engine: Engine, builds: list[str]
) -> None:
    engine.generate(prompt_for(PASSAGE), GROUNDED, grounding=grounding(PASSAGE), cache_key="a")
    asked = GroundingInput("Which city is old?", grounding(PASSAGE).sources)
    engine.generate(prompt_for(PASSAGE), GROUNDED, grounding=asked, cache_key="a")
    assert builds == [PASSAGE, PASSAGE]  # sentence weights depend on the question


# ---------------------------------------------------------------------- the session's budget
@pytest.fixture
def session(tmp_path: Path, tiny_model_dir: Path, engine: Engine) -> ChatSession:
    settings = chat_settings(tmp_path / "home", tiny_model_dir, write_docs(tmp_path / "docs"))
    return ChatSession(settings, engine=engine, history=HistoryStore(tmp_path / "h.sqlite3"))


def turn_budget(session: ChatSession, events: Any) -> Any:
    (done,) = of_type(list(events), TurnDone)
    assert session.last_turn is not None and session.last_turn.budget is not None
    return done, session.last_turn.budget


def test_regenerate_reuses_the_budget_and_a_changed_input_rebuilds_it(
    session: ChatSession,
) -> None:
    ask = "What does greedy decoding do?"
    decoding = DecodingSettings(max_new_tokens=6, grounding="copy")
    retriever = session.retriever()
    assert retriever is not None
    searched: list[str] = []
    search = retriever.search

    def counting(query: str, *args: Any, **kwargs: Any) -> Any:
        searched.append(query)
        return search(query, *args, **kwargs)

    retriever.search = counting  # type: ignore[method-assign]
    first, budget = turn_budget(session, session.turn(ask, decoding=decoding))
    assert session.last_turn is not None and session.last_turn.passages  # a RAG turn
    passages = session.last_turn.passages
    again, same = turn_budget(session, session.regenerate(ask, decoding=decoding))
    assert same is budget and again.text == first.text
    assert searched == [ask] and session.last_turn.passages == passages  # not searched again
    # More answer room: a smaller prompt budget, so the prompt is built again.
    longer = decoding.replace(max_new_tokens=12)
    _, rebuilt = turn_budget(session, session.regenerate(ask, decoding=longer))
    assert rebuilt is not budget and rebuilt.max_new_tokens == 12
    # The next question carries the history: a new prompt.
    _, follow_up = turn_budget(session, session.turn("And beam search?", decoding=decoding))
    assert follow_up is not rebuilt and any(p.kind == "history" for p in follow_up.parts)
    assert searched == [ask, "And beam search?"]


def test_an_embedding_relevance_is_kept_so_regenerate_reuses_the_copy_index(
    tmp_path: Path, tiny_model_dir: Path, engine: Engine, builds: list[str]
) -> None:
    settings = chat_settings(
        tmp_path / "home",
        tiny_model_dir,
        write_docs(tmp_path / "docs"),
        grounding_relevance="embedding",
    )
    session = ChatSession(settings, engine=engine, history=HistoryStore(tmp_path / "h.sqlite3"))
    ask = "What does greedy decoding do?"
    decoding = DecodingSettings(max_new_tokens=6, grounding="copy")
    first, _ = turn_budget(session, session.turn(ask, decoding=decoding))
    again, _ = turn_budget(session, session.regenerate(ask, decoding=decoding))
    assert len(builds) == 1 and again.text == first.text
