"""A fork of a grounded answer continues grounded: the copy reads the kept answer start as
the answer so far, so forking at a token with that same token reproduces the answer, and
the chat grounds a fork of the live answer and of a reopened one (the history keeps the
passages). Tiny model, real SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assistant.chat.events import TokenGenerated, TurnDone, TurnError
from assistant.chat.fork import fork_steps
from assistant.chat.history import HistoryStore
from assistant.chat.session import ChatSession
from assistant.core import DecodingSettings, Engine
from assistant.core.grounding import GroundingInput, SourceText
from assistant.core.types import Generation, TokenStep
from tests.chat_support import chat_settings, of_type, write_docs

PASSAGE = "Warsaw is the capital city of Poland. Kraków is an old city in the south."
QUESTION = "Which city is the capital?"
PROMPT = f"Context:\n[1] (notes.md:3-3)\n{PASSAGE}\n\nQuestion: {QUESTION}\nAnswer:"
GROUNDING = GroundingInput(QUESTION, (SourceText("notes.md:3-3", PASSAGE),))
GROUNDED = DecodingSettings(
    max_new_tokens=14, grounding="copy", grounded_stop=False, top_logprobs=20
)


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> Engine:
    return Engine.load(str(tiny_model_dir), allow_fallback=False, threads=1)


def _resume(
    engine: Engine,
    settings: DecodingSettings,
    grounding: GroundingInput,
    steps: list[TokenStep],
    index: int,
    *,
    answered: bool = True,
) -> Generation:
    """Decode on from ``steps[:index]`` of an answer to PROMPT, for the rest of its length;
    ``answered``: the kept tokens are given as the answer so far (a fork), else as prompt."""
    prefix = PROMPT + "".join(s.text for s in steps[:index])
    rest = settings.replace(max_new_tokens=len(steps) - index)
    start = len(engine.encode(PROMPT)) if answered else None
    return engine.generate(prefix, rest, grounding=grounding, answer_start=start)


def test_the_answer_so_far_is_read_as_answered(engine: Engine) -> None:
    """Decoding on from the middle of a grounded answer, its start given as answered, gives
    the rest of that answer: the copy picks up where the answer was in the passage."""
    answer = engine.generate(PROMPT, GROUNDED, grounding=GROUNDING)
    steps = list(answer.steps)
    assert answer.text.strip().startswith("Warsaw is the capital")  # the copy quotes it
    index = 4
    resumed = _resume(engine, GROUNDED, GROUNDING, steps, index)
    assert [s.token_id for s in resumed.steps] == [s.token_id for s in steps[index:]]
    for got, want in zip(resumed.steps, steps[index:], strict=True):
        assert got.processed_logprob == pytest.approx(want.processed_logprob, abs=1e-4)
        assert got.provenance is not None and want.provenance is not None
        assert got.provenance.line == want.provenance.line
        assert got.provenance.match_length == want.provenance.match_length
    # Without it the copy takes the kept tokens for prompt and opens a new answer.
    fresh = _resume(engine, GROUNDED, GROUNDING, steps, index, answered=False)
    assert [s.provenance.match_length for s in fresh.steps if s.provenance] != [
        s.provenance.match_length for s in steps[index:] if s.provenance
    ]


def test_a_resumed_answer_with_context_aware_decoding_gives_the_same_rest(engine: Engine) -> None:
    """copy+cad: the guidance's passage-less side continues the same answer so far, so a
    fork's continuation has the probabilities the whole answer had at those steps."""
    cad = GROUNDED.replace(grounding="copy+cad", cad_alpha=1.0)
    guided = GroundingInput(
        QUESTION,
        GROUNDING.sources,
        unconditional_prompt=f"Question: {QUESTION}\nAnswer:",
    )
    answer = engine.generate(PROMPT, cad, grounding=guided)
    steps = list(answer.steps)
    index = 3
    assert len(steps) > index + 2
    resumed = _resume(engine, cad, guided, steps, index)
    assert [s.token_id for s in resumed.steps] == [s.token_id for s in steps[index:]]
    # (The tiny random model barely conditions on the passages: without the answer so far on
    # the guidance's side the model-side probabilities differed by up to 6e-4, here by 0.)
    for got, want in zip(resumed.steps, steps[index:], strict=True):
        assert got.processed_logprob == pytest.approx(want.processed_logprob, abs=1e-5)
        assert got.provenance is not None and want.provenance is not None
        assert got.provenance.model_prob == pytest.approx(want.provenance.model_prob, abs=1e-5)


def test_a_fork_continues_grounded(engine: Engine) -> None:
    steps = list(engine.generate(PROMPT, GROUNDED, grounding=GROUNDING).steps)
    index = 3
    alternative = next(p for p in steps[index].top if p.token_id != steps[index].token_id)
    forked = list(
        fork_steps(
            engine, PROMPT, steps, index, alternative.token_id, GROUNDED, grounding=GROUNDING
        )
    )
    assert forked[0].token_id == alternative.token_id
    assert forked[0].provenance is None  # the replaced token's; this one's never computed
    assert len(forked) == GROUNDED.max_new_tokens - index
    assert all(s.provenance is not None for s in forked[1:])
    assert [s.index for s in forked] == list(range(index, GROUNDED.max_new_tokens))
    # Without the answer's grounding (as forks were before): the plain model.
    plain = list(fork_steps(engine, PROMPT, steps, index, alternative.token_id, GROUNDED))
    assert all(s.provenance is None for s in plain[1:])


# ---------------------------------------------------------------------- through the chat
def answer_of(events: Any) -> TurnDone:
    (done,) = of_type(list(events), TurnDone)
    return done


def fork_tokens(session: ChatSession, prompt: str, steps: list[TokenStep], **kw: Any) -> list[Any]:
    index = 1
    alternative = next(p for p in steps[index].top if p.token_id != steps[index].token_id)
    events = list(session.fork(prompt, steps, index, alternative.token_id, **kw))
    assert not of_type(events, TurnError)
    return [e.step for e in of_type(events, TokenGenerated)]


def test_the_chat_grounds_a_fork_of_the_live_and_of_a_reopened_answer(
    tmp_path: Path, tiny_model_dir: Path, engine: Engine
) -> None:
    settings = chat_settings(tmp_path / "home", tiny_model_dir, write_docs(tmp_path / "docs"))
    session = ChatSession(settings, engine=engine, history=HistoryStore(tmp_path / "h.sqlite3"))
    decoding = DecodingSettings(max_new_tokens=8, grounding="copy", top_logprobs=3)
    done = answer_of(session.turn("What does greedy decoding do?", decoding=decoding))
    record = session.last_turn
    assert record is not None and record.budget is not None and record.budget.passages
    steps, prompt = list(record.steps), record.budget.prompt
    live = fork_tokens(session, prompt, steps, decoding=decoding, message_id=done.message_id)
    assert len(live) > 1 and all(s.provenance is not None for s in live[1:])

    # A restarted chat reopens the conversation from the history alone.
    reopened = ChatSession(settings, engine=engine, history=HistoryStore(tmp_path / "h.sqlite3"))
    assert session.conversation_id is not None
    stored = next(
        m for m in reopened.open_conversation(session.conversation_id) if m.id == done.message_id
    )
    assert stored.budget is not None and stored.budget["passages"]
    stored_steps = [TokenStep.from_dict(item) for item in stored.tokens or []]
    again = fork_tokens(
        reopened, stored.budget["prompt"], stored_steps, decoding=decoding, message_id=stored.id
    )
    assert all(s.provenance is not None for s in again[1:])
    assert [s.token_id for s in again] == [s.token_id for s in live]

    # Grounding off for the fork: the plain model, no provenance.
    off = fork_tokens(
        reopened,
        stored.budget["prompt"],
        stored_steps,
        decoding=decoding.replace(grounding="off"),
        message_id=stored.id,
    )
    assert all(s.provenance is None for s in off[1:])


def finish_of(steps: Any) -> tuple[list[TokenStep], str]:
    """A fork's steps and the reason it returned (fork_steps returns why the answer ended)."""
    out: list[TokenStep] = []
    while True:
        try:
            out.append(next(steps))
        except StopIteration as done:
            return out, done.value


def test_a_fork_reports_why_its_continuation_ended(engine: Engine) -> None:
    stopping = GROUNDED.replace(grounded_stop=True, max_new_tokens=40)
    steps = list(engine.generate(PROMPT, stopping, grounding=GROUNDING).steps)
    alternative = next(p for p in steps[1].top if p.token_id != steps[1].token_id)
    forked, reason = finish_of(
        fork_steps(engine, PROMPT, steps, 1, alternative.token_id, stopping, grounding=GROUNDING)
    )
    # A grounded continuation that stops after a copied sentence says so (before, every fork
    # was stored as if it had run to its length limit).
    assert reason == "sentence_end" and len(forked) < stopping.max_new_tokens - 1
    _, at_limit = finish_of(
        fork_steps(engine, PROMPT, steps, 1, alternative.token_id, GROUNDED, grounding=GROUNDING)
    )
    assert at_limit == "length"  # grounded_stop off: it runs to the limit
