"""ChatSession: one turn = route → tools → retrieve → prompt → stream, as a generator of events.

The TUI and ``assistant ask`` both drive it. Heavy parts load lazily in the caller's thread
(see ``components``); every failure inside a turn becomes a TurnError event and the session
stays usable. Routing only ever sees the user's own text (promise 4); the prompt is budgeted
to the model's context before it reaches the model (promise 6).

Events beyond ``events.py``'s contract: ``TurnDone.dry_run`` marks a dry run (nothing was
generated or stored); ``TurnDone.timing`` has seconds per stage — routing, tools, retrieval,
prompt, prefill (engine: prompt in → first token decided), ttft (turn start → first token
shown), generation, total, and ``loading`` when a lazy load happened inside the turn.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from assistant.chat.components import Components
from assistant.chat.events import (
    ChatEvent,
    Notice,
    PassagesRetrieved,
    PlannedCall,
    PromptBudget,
    RouteDecided,
    TurnDone,
    TurnError,
)
from assistant.chat.grounding import grounding_input
from assistant.chat.loading import StageCallback, load_all
from assistant.chat.prompt import TokenizerCutter, build_prompt
from assistant.chat.stages import TurnFailed, run_tools, timed
from assistant.chat.template import STOP_STRINGS
from assistant.chat.turn_record import TurnRecord
from assistant.core.decoding import DecodingSettings

if TYPE_CHECKING:
    from assistant.chat.history import HistoryStore, Message
    from assistant.core.engine import Engine
    from assistant.core.relevance import Relevance
    from assistant.rag.retriever import Retriever
    from assistant.settings import Settings
    from assistant.tools.client import ToolHub

log = logging.getLogger(__name__)
MAX_CALLS_PER_TURN = 3
DEFAULT_DECODING = DecodingSettings(
    strategy="greedy", max_new_tokens=96, top_logprobs=5, grounding="copy"
)


class ChatSession:
    """One conversation with the assistant. Not re-entrant: one turn at a time."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        retriever: Retriever | None = None,
        tools: ToolHub | None = None,
        history: HistoryStore | None = None,
        approve: Callable[[PlannedCall], bool] | None = None,
    ) -> None:
        self.settings = settings
        self.parts = Components(
            settings, engine=engine, retriever=retriever, tools=tools, history=history
        )
        self.approve = approve  # asked for tools that are not auto-approved; None denies
        self.default_decoding = DEFAULT_DECODING
        self._conversation_id: int | None = None
        self._leaf_id: int | None = None  # the message the next turn continues from
        self._call_ids = (f"call-{n}" for n in itertools.count(1))
        self.last_turn: TurnRecord | None = None  # everything the latest turn gathered
        self.relevance: Relevance | None = None  # grounding's sentence scorer (see _relevance)

    # ------------------------------------------------------------------ lifecycle
    def load(self, on_stage: StageCallback | None = None) -> list[Notice]:
        """Load the engine and embedder, open (or build) the index, start the tool servers,
        each stage reported to ``on_stage``. Failures come back as Notices; the chat works
        with whatever loaded."""
        load_all(self.parts, on_stage)
        return self._take_notices()

    def close(self) -> None:
        self.parts.close()

    def _take_notices(self) -> list[Notice]:
        notices, self.parts.notices = self.parts.notices, []
        return notices

    # ------------------------------------------------------------------ conversations
    @property
    def conversation_id(self) -> int | None:
        """The stored conversation, or None before the first turn of a new one."""
        return self._conversation_id

    def new_conversation(self) -> None:
        """Start afresh; the conversation is stored (titled by its first question) on the
        first turn, so empty conversations never reach the history."""
        self._conversation_id = self._leaf_id = None

    def open_conversation(self, conversation_id: int) -> list[Message]:
        """Continue a stored conversation from its latest message; returns its messages."""
        messages = self.parts.history().messages(conversation_id)
        self._conversation_id = conversation_id
        self._leaf_id = messages[-1].id if messages else None
        return messages

    def branch_from(self, message_id: int) -> None:
        """Make the next turn a new branch after ``message_id`` (an assistant answer)."""
        message = self.parts.history().message(message_id)
        self._conversation_id, self._leaf_id = message.conversation_id, message.id

    def history_pairs(self) -> list[tuple[str, str]]:
        """(question, answer) pairs of the current branch, oldest first."""
        if self._leaf_id is None:
            return []
        pairs, question = [], None
        for message in self.parts.history().branch(self._leaf_id):
            if message.role == "user":
                question = message.text
            elif message.role == "assistant" and question is not None:
                if message.text.strip():
                    pairs.append((question, message.text))
                question = None
        return pairs

    # ------------------------------------------------------------------ a turn
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
        """Run one turn, yielding events (see ``events.py``); never raises AssistantError."""
        stop = stop_event or threading.Event()
        record = TurnRecord(text=text, decoding=self._decoding(decoding), dry_run=dry_run)
        self.last_turn = record
        try:
            yield from self._turn(record, use_tools, use_rag, k, stop)
        except TurnFailed as failed:
            yield from self._take_notices()
            yield TurnError(failed.stage, failed.message)

    def _decoding(self, decoding: DecodingSettings | None) -> DecodingSettings:
        chosen = decoding or self.default_decoding
        stops = tuple(dict.fromkeys((*chosen.stop, *STOP_STRINGS)))
        # A sampled answer is stored with the seed that reproduces it.
        seed = chosen.seed
        if seed is None and chosen.strategy == "sample":
            seed = secrets.randbelow(2**31)
        return chosen.replace(stop=stops, seed=seed)

    def _stage(
        self, record: TurnRecord, stage: str, fn: Callable[[], Any], timing_key: str = ""
    ) -> Any:
        return timed(record, stage, fn, timing_key)

    def _turn(
        self, record: TurnRecord, use_tools: bool, use_rag: bool, k: int, stop: threading.Event
    ) -> Iterator[ChatEvent]:
        from assistant.tools.router import route

        if not record.text.strip():
            raise TurnFailed("routing", "empty message: type a question")
        started = record.started
        if use_tools:
            calls, why = self._stage(
                record,
                "routing",
                lambda: route(record.text, known_files=self.parts.known_files()),
            )
        else:
            calls, why = [], "no tool: tools are off for this turn"
        calls = list(calls)[:MAX_CALLS_PER_TURN]
        yield RouteDecided(tuple(calls), why)
        if calls and not record.dry_run:
            yield from self._run_tools(record, calls, stop)
        yield from self._take_notices()

        passages: list[Any] = []
        if use_rag and k > 0 and not stop.is_set():
            retriever = self._loading(record, "retrieval", self.parts.retriever)
            yield from self._take_notices()
            if retriever is not None:
                passages = self._stage(
                    record, "retrieval", lambda: retriever.search(record.text, k)
                )
        record.passages = passages
        yield PassagesRetrieved(tuple(passages))

        engine = None if record.dry_run else self._loading(record, "generation", self._engine)
        yield from self._take_notices()
        budget = self._stage(record, "prompt", lambda: self._budget(record))
        record.budget = budget
        yield budget
        if record.dry_run:
            record.timing["total"] = time.perf_counter() - started
            yield TurnDone(None, "", "stop", dict(record.timing), dry_run=True)
            return
        assert engine is not None
        if stop.is_set():  # cancelled before the model started: store the question anyway
            record.finish_reason, record.model = "cancelled", engine.name
        else:
            yield from self._generate(record, engine, stop)
        message_id = self._stage(record, "history", lambda: self._store(record))
        record.timing["total"] = time.perf_counter() - started
        yield TurnDone(message_id, record.answer, record.finish_reason, dict(record.timing))

    def _loading(self, record: TurnRecord, stage: str, load: Callable[[], Any]) -> Any:
        """A lazy load inside a turn: timed apart (it is not the per-turn cost), its failure
        reported as a failure of the stage that needed it."""
        return self._stage(record, stage, load, timing_key="loading")

    def _engine(self) -> Engine:
        return self.parts.engine()

    def _run_tools(
        self, record: TurnRecord, calls: list[PlannedCall], stop: threading.Event
    ) -> Iterator[ChatEvent]:
        hub = self._loading(record, "tools", self.parts.tools)
        yield from self._take_notices()
        yield from run_tools(record, hub, calls, self.approve, self._call_ids, stop)

    def _budget(self, record: TurnRecord) -> PromptBudget:
        counter = self.parts.counter()
        record.model = counter.model_name
        _, budget = build_prompt(
            record.text,
            passages=record.passages,
            tool_results=record.tool_texts,
            tool_results_capped=record.tool_texts_capped,
            history=self.history_pairs(),
            count_tokens=counter.count,
            context_length=counter.context_length,
            max_new_tokens=record.decoding.max_new_tokens,
            cutter=TokenizerCutter(counter.tokenizer),
            max_prompt_tokens=self.settings.max_prompt_tokens or None,
        )
        return budget

    def _generate(
        self, record: TurnRecord, engine: Engine, stop: threading.Event
    ) -> Iterator[ChatEvent]:
        from assistant.chat.events import TokenGenerated

        assert record.budget is not None
        prompt = record.budget.prompt
        grounding = grounding_input(record.text, record.budget, self._relevance(record))
        stream = self._stage(
            record, "generation", lambda: engine.stream(prompt, record.decoding, stop, grounding)
        )
        if stream.truncated_prompt_tokens:  # the budget was wrong: never feed a cut prompt
            raise TurnFailed("prompt", "internal error: the budgeted prompt did not fit")
        iterator = iter(stream)
        while True:
            step = self._stage(record, "generation", lambda: next(iterator, None))
            if step is None:
                break
            if "ttft" not in record.timing:  # the first token the user sees
                record.timing["ttft"] = time.perf_counter() - record.started
            record.steps.append(step)
            yield TokenGenerated(step)
        generation = stream.result()
        # The engine's own clock: prompt in → first token decided (a token that might begin
        # a stop string is shown a little later, which ttft includes).
        if stream.first_token_seconds is not None:
            record.timing["prefill"] = stream.first_token_seconds
        record.answer = generation.text
        record.finish_reason = "cancelled" if stop.is_set() else generation.finish_reason
        record.model = engine.name

    def _relevance(self, record: TurnRecord) -> Relevance | None:
        """Grounding's sentence scorer: the one set on the session, else the configured one
        (``grounding_relevance``; measured with benchmarks/answer_rate.py --relevance)."""
        if self.relevance is not None or not record.passages:
            return self.relevance
        from assistant.chat.relevance import relevance_named  # retrieval's lexical terms

        name = self.settings.grounding_relevance
        if name not in ("embedding", "hybrid"):
            return relevance_named(name)
        try:
            retriever = self.parts.retriever()
            embedder = retriever.embedder if retriever is not None else None
        except Exception:  # no embedder to be had: word overlap still grounds the answer
            log.exception("no embedder for grounding relevance")
            embedder = None
        return relevance_named(name if embedder is not None else "overlap", embedder)

    def _store(self, record: TurnRecord) -> int:
        store = self.parts.history()
        if self._conversation_id is None:
            self._conversation_id = store.new_conversation(_title(record.text))
            self._leaf_id = None
        user_id = store.add_message(
            self._conversation_id, "user", record.text, parent_id=self._leaf_id
        )
        answer_id = store.add_message(
            self._conversation_id, "assistant", parent_id=user_id, **record.message_fields()
        )
        self._leaf_id = answer_id
        return answer_id


def _title(text: str, width: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
