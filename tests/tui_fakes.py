"""A scripted chat session for the TUI tests: real event and TokenStep objects, no model.

Turns follow the event contract (assistant/chat/events.py). Words of the question pick the
script: "calc" adds a tool call that needs approval, "hold" pauses generation until the test
releases it (or stops the turn), "markup" answers with markup and escape sequences,
"ground" answers with grounded steps (provenance: copied from passage 1 or 2, or the model's
own) over multi-line passages and ends with "sentence_end".
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.chat.branch import ConversationBranch
from assistant.chat.events import (
    BudgetPart,
    ChatEvent,
    Notice,
    PassagesRetrieved,
    PlannedCall,
    PromptBudget,
    RouteDecided,
    TokenGenerated,
    ToolCallFinished,
    ToolCallStarted,
    TurnDone,
    TurnError,
)
from assistant.chat.fork import fork_events
from assistant.chat.history import HistoryStore, Message
from assistant.chat.loading import StageCallback
from assistant.chat.model_info import ModelInfo
from assistant.core.decoding import DecodingSettings
from assistant.core.types import FinishReason, Provenance, TokenProb, TokenStep

if TYPE_CHECKING:
    from assistant.chat.first_run import FirstRun
    from assistant.chat.session_protocol import ApproveFn, ChatSessionLike
    from assistant.core.engine import Engine

ANSWER = ["Greedy", " decoding", " picks", " the", " most", " probable", " token", "."]
RANKS = [1, 3, 1, 12, 1, 150, 2, 2000]
HOSTILE = [
    "[bold]loud[/bold]",
    " [/",
    " [link=http://evil]x[/link]",
    " \x1b[31mred",
    " \x1b]8;;http://e\x07l",
]
PROMPT = "Question: what does greedy decoding do?\nAnswer:"


@dataclass(frozen=True)
class FakePassage:
    path: str
    start_line: int
    end_line: int
    text: str
    score: float
    page: int | None = None
    dense_score: float | None = None
    lexical_score: float | None = None

    @property
    def source(self) -> str:
        return f"{self.path}:{self.start_line}-{self.end_line}"

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


PASSAGES = (
    FakePassage(
        "corpus/decoding.md",
        10,
        24,
        "Greedy decoding takes the argmax [bold]always[/].",
        0.8123,
        None,
        0.71,
        3.2,
    ),
    FakePassage("corpus/glossary.md", 3, 5, "Token: a unit of text.", 0.5012),
)


GROUNDED_PASSAGES = (
    FakePassage(
        "corpus/decoding.md",
        10,
        13,
        "Decoding turns scores into text.\nGreedy decoding takes the argmax.\n"
        "It never samples.\nBeam search keeps several.",
        0.9,
    ),
    FakePassage("corpus/glossary.md", 3, 3, "A unit of text.", 0.6),
)
# (token, passage it was copied from or None for the model's own, file line)
GROUNDED = [
    ("Greedy", 1, 11),
    (" decoding", 1, 11),
    (" takes", 1, 11),
    (" the", 1, 11),
    (" argmax", 1, 11),
    (".", None, None),
    (" A", 2, 3),
    (" unit", 2, 3),
    (" of", 2, 3),
    (" text", 2, 3),
    (".", 2, 3),
    (" Simple", None, None),
    (".", None, None),
]
GROUNDED_SHOWN = "Greedy decoding takes the argmax. [1] A unit of text. [2] Simple."
COPIED = Provenance(model_prob=0.04, copy_prob=0.9, weight=0.6, match_length=3)  # mixed 55.6%
OWN = Provenance(model_prob=0.55, copy_prob=0.0, weight=0.0, match_length=0)


def make_grounded_step(index: int, text: str, passage: int | None, line: int | None) -> TokenStep:
    """A step whose provenance says it was copied from ``passage`` (None: the model's own);
    raw p 5% (rank 150) for a copied token, 60% (rank 1) for the model's own."""
    if passage is None:
        provenance = OWN
    else:
        source = GROUNDED_PASSAGES[passage - 1].source
        provenance = replace(COPIED, source=source, passage=passage, line=line)
    step = make_step(index, text, 150 if passage else 1)
    return replace(step, processed_logprob=math.log(provenance.mixed_prob), provenance=provenance)


def grounded_steps() -> list[TokenStep]:
    return [make_grounded_step(i, *item) for i, item in enumerate(GROUNDED)]


def make_step(index: int, text: str, rank: int, token_id: int | None = None) -> TokenStep:
    token_id = 100 + index if token_id is None else token_id
    chosen_lp = math.log(0.6 if rank == 1 else 0.05)
    alternatives = [
        TokenProb(900 + i, f" alt{i}", 0.1 / (i + 1), math.log(0.1 / (i + 1))) for i in range(4)
    ]
    chosen = TokenProb(token_id, text, math.exp(chosen_lp), chosen_lp)
    top = (chosen, *alternatives) if rank == 1 else (*alternatives, chosen)
    return TokenStep(
        index=index,
        token_id=token_id,
        text=text,
        logprob=chosen_lp,
        processed_logprob=chosen_lp + 0.1,
        rank=rank,
        top=top,
        top_processed=top[:3],
        token=text,
    )


class FakeSession:
    """Implements ChatSessionLike (assistant/chat/session_protocol.py) exactly: mypy checks
    it in ``_implements_the_protocol`` below. Forks and regenerations store through the real
    ConversationBranch and fork flow."""

    def __init__(
        self, db_path: Path, *, engine: Engine | None = None, notices: list[Notice] | None = None
    ) -> None:
        self.engine = engine
        self.history = HistoryStore(db_path)
        self.approve: ApproveFn | None = None
        self.default_decoding = DecodingSettings()
        self.notices = notices or []
        self.release = threading.Event()  # lets a "hold" turn go on
        self.holding = threading.Event()  # set while a "hold" turn waits
        self.turns: list[tuple[str, DecodingSettings | None]] = []
        self._branch = ConversationBranch(lambda: self.history)
        self.prefix_key = "fake-session"
        self.first_run: FirstRun | None = None  # a test may give a real one (first-run flow)

    @property
    def conversation_id(self) -> int | None:
        return self._branch.conversation_id

    def load(self, on_stage: StageCallback | None = None) -> list[Notice]:
        return list(self.notices)

    def close(self) -> None:
        self.history.close()

    def model_info(self) -> ModelInfo | None:
        return ModelInfo.of_engine(self.engine) if self.engine is not None else None

    def loaded_engine(self) -> Engine | None:
        return self.engine

    def history_store(self) -> HistoryStore | None:
        return self.history

    def new_conversation(self) -> None:
        self._branch.reset()

    def open_conversation(self, conversation_id: int) -> list[Message]:
        return self._branch.open(conversation_id)

    def branch_from(self, message_id: int) -> None:
        self._branch.branch_from(message_id)

    def regenerate(
        self,
        text: str,
        *,
        decoding: DecodingSettings | None = None,
        stop_event: threading.Event | None = None,
    ) -> Iterator[ChatEvent]:
        self._branch.rewind_last_question()
        yield from self.turn(text, decoding=decoding, stop_event=stop_event)

    def fork(
        self,
        prompt: str,
        steps: Sequence[TokenStep],
        index: int,
        token_id: int,
        *,
        decoding: DecodingSettings,
        message_id: int | None = None,
        stop_event: threading.Event | None = None,
    ) -> Iterator[ChatEvent]:
        if self.engine is None:
            yield TurnError("generation", "the model is not loaded yet")
            return
        stop = stop_event or threading.Event()
        yield from fork_events(
            self.engine,
            self._branch,
            prompt,
            steps,
            index,
            token_id,
            decoding,
            message_id=message_id,
            stop_event=stop,
        )

    def turn(
        self,
        text: str,
        *,
        decoding: DecodingSettings | None = None,
        use_tools: bool = True,
        use_rag: bool = True,
        k: int = 4,
        stop_event: threading.Event | None = None,
        dry_run: bool = False,
    ) -> Iterator[ChatEvent]:
        self.turns.append((text, decoding))
        stop = stop_event or threading.Event()
        calls: tuple[PlannedCall, ...] = ()
        if "calc" in text:
            calls = (PlannedCall("calculator", "evaluate", {"expression": "2+2"}, "/calc command"),)
        yield RouteDecided(calls, "scripted")
        approved_calls = []
        for number, call in enumerate(calls):
            yield ToolCallStarted(f"c{number}", call)
            approved = self.approve(call) if self.approve else False
            result = "4 [bold]not bold[/]" if approved else "denied"
            approved_calls.append({"tool": call.name, "approved": approved})
            yield ToolCallFinished(f"c{number}", call, approved, result, 0.012, approved=approved)
        passages = GROUNDED_PASSAGES if "ground" in text else PASSAGES
        yield PassagesRetrieved(passages)
        parts = (
            BudgetPart("template", "template", 20, True),
            BudgetPart("question", "question", 9, True),
            BudgetPart("passage", passages[0].source, 40, True, cut=True),
            BudgetPart("passage", passages[1].source, 30, False),
        )
        yield PromptBudget(1024, 64, 69, parts, PROMPT)
        steps = []
        for index, step in enumerate(self._steps(text, decoding, stop)):
            if "hold" in text and index == 3:
                self.holding.set()
                while not self.release.wait(0.01) and not stop.is_set():
                    pass
            if stop.is_set():
                break
            steps.append(step)
            yield TokenGenerated(step)
        answer = "".join(s.text for s in steps)
        reason: FinishReason = (
            "cancelled" if stop.is_set() else "sentence_end" if "ground" in text else "eos"
        )
        message_id = self._store(text, answer, steps, decoding, approved_calls, reason, passages)
        yield TurnDone(message_id, answer, reason, {"total": 0.01})

    def _steps(
        self, text: str, decoding: DecodingSettings | None, stop: threading.Event
    ) -> Iterator[TokenStep]:
        if self.engine is not None:  # a real (tiny) model continues the fixed prompt
            settings = decoding or DecodingSettings(max_new_tokens=12)
            yield from self.engine.stream(PROMPT, settings, stop)
            return
        if "ground" in text:
            yield from grounded_steps()
            return
        words = HOSTILE if "markup" in text else ANSWER
        for index, word in enumerate(words):
            yield make_step(index, word, RANKS[index % len(RANKS)])

    def _store(
        self,
        text: str,
        answer: str,
        steps: list[TokenStep],
        decoding: Any,
        calls: Any,
        reason: str,
        passages: tuple[FakePassage, ...],
    ) -> int:
        branch = self._branch
        if branch.conversation_id is None:
            branch.conversation_id = self.history.new_conversation(text[:40])
        user = self.history.add_message(
            branch.conversation_id, "user", text, parent_id=branch.leaf_id
        )
        branch.leaf_id = self.history.add_message(
            branch.conversation_id,
            "assistant",
            answer,
            parent_id=user,
            decoding=(decoding or DecodingSettings()).to_dict(),
            tokens=[s.to_dict() for s in steps],
            sources=[p.to_dict() for p in passages],
            tool_calls=calls,
            finish_reason=reason,
        )
        return branch.leaf_id


def _implements_the_protocol(fake: FakeSession) -> ChatSessionLike:
    """Never called: mypy fails here when the fake and the Protocol drift apart."""
    return fake
