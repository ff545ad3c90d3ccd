"""ChatSession: one turn = route → tools → retrieve → prompt → stream, as a generator of events.

The TUI and ``assistant ask`` both drive it, through the surface in ``session_protocol``.
Heavy parts load lazily in the caller's thread (see ``components``); every failure inside a
turn becomes a TurnError event and the session stays usable. Routing only ever sees the
user's own text, so retrieved passages and tool output cannot trigger tool calls; the prompt
is budgeted to the model's context before it reaches the model (docs/chat.md).

Events beyond ``events.py``'s contract: ``TurnDone.dry_run`` marks a dry run (nothing was
generated or stored); ``TurnDone.timing`` has seconds per stage — routing, tools, retrieval,
prompt, prefill (engine: prompt in → first token decided), ttft (turn start → first token
shown), generation, total, and ``loading`` when a lazy load happened inside the turn.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from assistant.chat.answer_stage import configured_relevance, stream_answer
from assistant.chat.branch import ConversationBranch
from assistant.chat.components import Components
from assistant.chat.default_decoding import DEFAULT_DECODING, turn_decoding
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
from assistant.chat.first_run import FirstRun
from assistant.chat.fork import fork_events
from assistant.chat.grounding import grounding_input, stored_grounding
from assistant.chat.loading import StageCallback, load_all
from assistant.chat.model_info import ModelInfo
from assistant.chat.prompt import TokenizerCutter, build_prompt
from assistant.chat.routing import TurnRouter
from assistant.chat.stages import TurnFailed, run_tools, timed
from assistant.chat.turn_record import TurnRecord
from assistant.core.decoding import DecodingSettings

if TYPE_CHECKING:
    from assistant.chat.history import HistoryStore, Message
    from assistant.chat.session_protocol import ApproveFn
    from assistant.core.engine import Engine
    from assistant.core.grounding_input import GroundingInput
    from assistant.core.relevance import Relevance
    from assistant.core.types import TokenStep
    from assistant.rag.retriever import Retriever
    from assistant.settings import Settings
    from assistant.tools.client import ToolHub

log = logging.getLogger(__name__)


class ChatSession:
    """One conversation with the assistant (implements ``ChatSessionLike``). Not re-entrant:
    one turn (or fork) at a time."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        retriever: Retriever | None = None,
        tools: ToolHub | None = None,
        history: HistoryStore | None = None,
        approve: ApproveFn | None = None,
    ) -> None:
        self.settings = settings
        self.parts = Components(
            settings, engine=engine, retriever=retriever, tools=tools, history=history
        )
        self.approve = approve  # asked for tools that are not auto-approved; None denies
        self.default_decoding = DEFAULT_DECODING
        self._branch = ConversationBranch(self.parts.history)
        self._call_ids = (f"call-{n}" for n in itertools.count(1))
        self.last_turn: TurnRecord | None = None  # everything the latest turn gathered
        self.relevance: Relevance | None = None  # grounding's sentence scorer (see _relevance)
        self.router = TurnRouter(self.parts)
        self.first_run = FirstRun(settings, self.parts)  # a missing model's download offer
        # The engine keeps this conversation's last KV cache under this key (see
        # core/prefix_store.py); a new or reopened conversation drops it.
        self.prefix_key = f"chat-{uuid.uuid4().hex[:12]}"
        self._last_budget: tuple[tuple[Any, ...], PromptBudget] | None = None  # (inputs, it)
        self._configured_relevance: tuple[tuple[str, Any], Relevance] | None = None
        self._last_search: tuple[tuple[Any, ...], list[Any]] | None = None  # (query, passages)

    # ------------------------------------------------------------------ lifecycle
    def load(self, on_stage: StageCallback | None = None) -> list[Notice]:
        """Load the engine and embedder, open (or build) the index, start the tool servers,
        each stage reported to ``on_stage``. Failures come back as Notices; the chat works
        with whatever loaded."""
        load_all(self.parts, self.first_run.watch(on_stage))  # may offer the model's download
        return self._take_notices()

    def close(self) -> None:
        self.parts.close()

    def _take_notices(self) -> list[Notice]:
        notices, self.parts.notices = self.parts.notices, []
        return notices

    # ------------------------------------------------------------------ what is loaded
    def model_info(self) -> ModelInfo | None:
        return self.parts.model_info()

    def loaded_engine(self) -> Engine | None:
        return self.parts.engine_if_loaded

    def retriever(self) -> Retriever | None:
        """The retriever (the index opened, or built, on first use); None without one."""
        return self.parts.retriever()

    def history_store(self) -> HistoryStore | None:
        try:
            return self.parts.history()
        except Exception:  # no history (unwritable data dir): the chat goes on without
            log.exception("the history store cannot be opened")
            return None

    # ------------------------------------------------------------------ conversations
    @property
    def conversation_id(self) -> int | None:
        """The stored conversation, or None before the first turn of a new one."""
        return self._branch.conversation_id

    def new_conversation(self) -> None:
        self._forget_prefix()
        self._branch.reset()

    def open_conversation(self, conversation_id: int) -> list[Message]:
        self._forget_prefix()
        return self._branch.open(conversation_id)

    def _forget_prefix(self) -> None:
        engine = self.parts.engine_if_loaded
        if engine is not None:
            engine.forget_prefix(self.prefix_key)

    def branch_from(self, message_id: int) -> None:
        self._branch.branch_from(message_id)

    def history_pairs(self) -> list[tuple[str, str]]:
        """(question, answer) pairs of the current branch, oldest first."""
        return self._branch.pairs()

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
        chosen = turn_decoding(decoding or self.default_decoding)
        record = TurnRecord(text=text, decoding=chosen, dry_run=dry_run)
        self.last_turn = record
        try:
            yield from self._turn(record, use_tools, use_rag, k, stop)
        except TurnFailed as failed:
            yield from self._take_notices()
            yield TurnError(failed.stage, failed.message)

    def regenerate(
        self,
        text: str,
        *,
        decoding: DecodingSettings | None = None,
        stop_event: threading.Event | None = None,
    ) -> Iterator[ChatEvent]:
        """Answer ``text`` again from before the branch's latest question: the new answer is
        stored as a sibling of the old one."""
        try:
            self._branch.rewind_last_question()
        except Exception as exc:  # as a turn's failing stage: an event, not an exception
            yield TurnError("history", f"{type(exc).__name__}: {exc}")
            return
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
        """Re-answer from an alternative token (see ``fork.fork_events``); the fork is stored
        beside answer ``message_id`` and the next turn continues from it."""
        engine = self.parts.engine_if_loaded
        if engine is None:
            yield TurnError("generation", "the model is not loaded yet")
            return
        stop = stop_event or threading.Event()
        yield from fork_events(
            engine,
            self._branch,
            prompt,
            steps,
            index,
            token_id,
            decoding,
            message_id=message_id,
            stop_event=stop,
            cache_key=self.prefix_key,
            grounding=self._fork_grounding(prompt, decoding, message_id),
        )

    def _fork_grounding(
        self, prompt: str, decoding: DecodingSettings, message_id: int | None
    ) -> GroundingInput | None:
        """The forked answer's grounding: the latest turn's when it is that answer's prompt,
        else what the history kept of the stored answer (None: the fork is not grounded)."""
        if decoding.grounding == "off":
            return None
        record = self.last_turn
        if record is not None and record.budget is not None and record.budget.prompt == prompt:
            return grounding_input(record.text, record.budget, self._relevance(record))
        store = self.history_store()
        if message_id is None or store is None:
            return None
        try:
            answer = store.message(message_id)
            question = store.message(answer.parent_id) if answer.parent_id is not None else None
        except Exception:  # not stored after all: the fork runs ungrounded
            log.exception("the forked answer's grounding could not be read")
            return None
        if question is None or (answer.budget or {}).get("prompt") != prompt:
            return None
        return stored_grounding(question.text, answer.budget, self._scorer())

    def _stage(
        self, record: TurnRecord, stage: str, fn: Callable[[], Any], timing_key: str = ""
    ) -> Any:
        return timed(record, stage, fn, timing_key)

    def _turn(
        self, record: TurnRecord, use_tools: bool, use_rag: bool, k: int, stop: threading.Event
    ) -> Iterator[ChatEvent]:
        if not record.text.strip():
            raise TurnFailed("routing", "empty message: type a question")
        started = record.started
        if use_tools:
            calls, why = self._stage(record, "routing", lambda: self.router.route(record.text))
        else:
            calls, why = [], "no tool: tools are off for this turn"
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
                    record, "retrieval", lambda: self._search(retriever, record.text, k)
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
            relevance = self._relevance(record)
            yield from stream_answer(record, engine, stop, relevance, self.prefix_key)
        message_id = self._stage(record, "history", lambda: self._branch.store_turn(record))
        record.timing["total"] = time.perf_counter() - started
        yield TurnDone(
            message_id,
            record.answer,
            record.finish_reason,
            dict(record.timing),
            decoding=record.decoding,
        )

    def _search(self, retriever: Retriever, text: str, k: int) -> list[Any]:
        """The passages for ``text``; a regenerate asks the same question of the same index
        generation, and gets the last search's passages without searching again."""
        key = (text, k, retriever, retriever.search_state())
        if self._last_search is None or self._last_search[0] != key:
            self._last_search = (key, retriever.search(text, k))
        return list(self._last_search[1])

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
        history = self.history_pairs()
        # Everything build_prompt reads: a regenerate (same question, passages, tool
        # results and history) gets the same prompt without tokenising it all again.
        inputs = (
            record.text,
            tuple((str(p.source), str(p.text), getattr(p, "score", None)) for p in record.passages),
            tuple(record.tool_texts),
            tuple(record.tool_texts_capped),
            tuple(history),
            counter,  # the model's tokenizer and context (compared as the objects they are)
            record.decoding.max_new_tokens,
            self.settings.max_prompt_tokens,
        )
        if self._last_budget is not None and self._last_budget[0] == inputs:
            return self._last_budget[1]
        _, budget = build_prompt(
            record.text,
            passages=record.passages,
            tool_results=record.tool_texts,
            tool_results_capped=record.tool_texts_capped,
            history=history,
            count_tokens=counter.count,
            context_length=counter.context_length,
            max_new_tokens=record.decoding.max_new_tokens,
            cutter=TokenizerCutter(counter.tokenizer),
            max_prompt_tokens=self.settings.max_prompt_tokens or None,
        )
        self._last_budget = (inputs, budget)
        return budget

    def _relevance(self, record: TurnRecord) -> Relevance | None:
        """Grounding's sentence scorer: the one set on the session, else the configured one."""
        if self.relevance is not None or not record.passages:
            return self.relevance
        return self._scorer()

    def _scorer(self) -> Relevance | None:
        """The session's relevance, else the configured one (kept, see below)."""
        if self.relevance is not None:
            return self.relevance
        # Kept while the setting and the retriever are the same: an embedding scorer made
        # anew each turn would never let the engine reuse a regenerate's copy index.
        key = (self.settings.grounding_relevance, self.parts.retriever())
        if self._configured_relevance is None or self._configured_relevance[0] != key:
            retriever = key[1]
            made = configured_relevance(key[0], lambda: retriever)
            self._configured_relevance = (key, made)
        return self._configured_relevance[1]
