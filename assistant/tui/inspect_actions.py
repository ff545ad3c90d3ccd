"""Seeing the model think: token view and cursor, typed-token lookups, forks, /probs,
/compare, decoding settings. A mixin of AssistantApp; model calls run in thread workers, and
a fork is the session's (``ChatSession.fork``): this only renders its events."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from textual.widget import Widget
from textual.widgets import Input, OptionList

from assistant.tui.messages import ColouringChanged, CursorMoved
from assistant.tui.widgets.answer_block import AnswerBlock
from assistant.tui.widgets.assistant_message import AssistantMessage
from assistant.tui.widgets.inspect_views import CompareView, ProbsView
from assistant.tui.widgets.token_panel import TokenPanel

if TYPE_CHECKING:
    from collections.abc import Iterator
    from threading import Event

    from textual.app import App

    from assistant.chat.events import ChatEvent
    from assistant.chat.session_protocol import ChatSessionLike
    from assistant.core.decoding import DecodingSettings
    from assistant.core.engine import Engine
    from assistant.tui.turn_runner import TurnRunner

    _Base = App[None]
else:
    _Base = object

COMPARE_MAX_TOKENS = 40


def _running_note(settings: DecodingSettings) -> str:
    if settings.strategy == "beam":  # no token is final until the search ends
        return f"searching with {settings.num_beams} beams…"
    return "decoding…"


class InspectActions(_Base):
    session: ChatSessionLike | None
    runner: TurnRunner
    decoding: DecodingSettings | None
    last_question: str | None
    token_colouring: str = "rank"  # the token view's colouring for every answer (s switches)

    # ------------------------------------------------------------------ helpers
    def engine_or_notice(self) -> Engine | None:
        engine = self.session.loaded_engine() if self.session is not None else None
        if engine is None:
            self.notify("The model is still loading (or failed to load).", severity="warning")
        return engine

    def target_message(self) -> AssistantMessage | None:
        """The focused answer, else the last one."""
        if isinstance(self.focused, AssistantMessage):
            return self.focused
        messages = list(self.query(AssistantMessage))
        return messages[-1] if messages else None

    def mount_in_log(self, widget: Widget) -> None:
        self.query_one("#log").mount(widget)

    @property
    def token_panel(self) -> TokenPanel:
        return self.query_one(TokenPanel)

    # ------------------------------------------------------------------ token view
    def command_tokens(self, text: str) -> None:
        if text:  # /tokens TEXT: how the model tokenizes TEXT
            from assistant.tui.tokens_command import show_tokenization

            show_tokenization(self, text)
            return
        message = self.target_message()
        if message is None:
            self.notify("No answer to inspect yet.", severity="warning")
            return
        for other in self.query(AssistantMessage):
            if other is not message:
                other.token_view = False
        message.token_view = not message.token_view
        message.focus()

    def on_cursor_moved(self, event: CursorMoved) -> None:
        panel = self.token_panel
        message = event.message
        assert isinstance(message, AssistantMessage)
        if event.index < 0:
            if getattr(panel, "message", None) is message:
                panel.remove_class("-shown")
            return
        panel.message = message
        panel.add_class("-shown")
        panel.show_step(message.current_step())

    def on_colouring_changed(self, event: ColouringChanged) -> None:
        """One colouring for every answer: the next token view opens with it too."""
        self.token_colouring = event.colouring
        for other in self.query(AssistantMessage):
            if other is not event.message and other.colouring != event.colouring:
                other.set_reactive(AssistantMessage.colouring, event.colouring)
                other.refresh()

    # Handlers by name, not @on: the decorator only registers on MessagePump subclasses,
    # and this mixin is not one.
    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "token-lookup":
            self.lookup_typed_token(event)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "fork-options":
            self.fork_selected(event)

    def lookup_typed_token(self, event: Input.Submitted) -> None:
        message = getattr(self.token_panel, "message", None)
        engine = self.engine_or_notice()
        if not isinstance(message, AssistantMessage) or engine is None or not event.value:
            return
        index, text = message.cursor, event.value
        prefix = message.prompt
        steps = list(message.steps[:index])

        def work() -> None:
            from assistant.core.lookup import continuation_logprobs
            from assistant.errors import AssistantError

            ids = (engine.encode(prefix) if prefix.strip() else []) + [s.token_id for s in steps]
            try:
                rows = continuation_logprobs(engine, ids, text)
            except AssistantError as exc:
                self.call_from_thread(self.notify, str(exc), severity="error", markup=False)
                return
            table = [(r.text, r.logprob, r.rank) for r in rows]
            self.call_from_thread(self.token_panel.show_lookup, text, table)

        self.run_worker(work, thread=True, group="lookup", exclusive=True)

    # ------------------------------------------------------------------ fork
    def fork_selected(self, event: OptionList.OptionSelected) -> None:
        message = getattr(self.token_panel, "message", None)
        if isinstance(message, AssistantMessage) and event.option.id is not None:
            self.fork(message, message.cursor, int(event.option.id))

    def fork(self, message: AssistantMessage, index: int, token_id: int) -> None:
        engine = self.engine_or_notice()
        if engine is None:
            return
        if self.runner.busy:
            self.notify("Still answering: Esc stops it.", severity="warning")
            return
        from assistant.core.decoding import DecodingSettings

        settings = message.decoding or self.decoding or DecodingSettings()
        block = AnswerBlock(settings, label=f"fork at token {index + 1}")
        parent = message.parent if isinstance(message.parent, AnswerBlock) else message
        self.query_one("#log").mount(block, after=parent)
        block.prompt = message.prompt
        fork_message = block.ensure_message()
        fork_message.append_steps(list(message.steps[:index]))
        message.token_view = False
        session, source_steps, prompt = self.session, list(message.steps), message.prompt
        original_id = message.message_id
        assert session is not None  # engine_or_notice found its engine

        def produce(stop: Event) -> Iterator[ChatEvent]:
            yield from session.fork(
                prompt,
                source_steps,
                index,
                token_id,
                decoding=settings,
                message_id=original_id,
                stop_event=stop,
            )

        self.runner.start(block, produce)

    # ------------------------------------------------------------------ /probs, /compare
    def command_probs(self, text: str) -> None:
        engine = self.engine_or_notice()
        if engine is None:
            return

        def work() -> None:
            from assistant.errors import AssistantError

            try:
                top = engine.next_token_distribution(text, k=20)
            except AssistantError as exc:
                self.call_from_thread(self.notify, str(exc), severity="error", markup=False)
                return
            self.call_from_thread(self.mount_in_log, ProbsView(text, top))

        self.run_worker(work, thread=True, group="probs")

    def command_compare(self, prompt: str) -> None:
        engine = self.engine_or_notice()
        if engine is None:
            return
        answers = list(self.query(AssistantMessage))
        if not prompt:  # the last answer's exact prompt, else the last question
            prompt = (answers[-1].prompt if answers else "") or (self.last_question or "")
        if not prompt.strip():
            self.notify("usage: /compare PROMPT (or ask something first)", severity="warning")
            return
        seed = self.decoding.seed if self.decoding and self.decoding.seed is not None else 0
        # Every preset continues the same prompt: the conversation's kept KV cache serves all.
        key = self.session.prefix_key if self.session is not None else None
        from assistant.core.decoding import PRESETS

        view = CompareView(prompt, list(PRESETS))
        self.mount_in_log(view)

        def work() -> None:
            from textual.worker import get_current_worker

            worker = get_current_worker()
            for name, settings in PRESETS.items():
                if worker.is_cancelled:  # a newer /compare took over: say so where it stopped
                    self._compare_stopped(view, name)
                    continue
                limited = settings.replace(max_new_tokens=COMPARE_MAX_TOKENS, seed=seed)
                self.call_from_thread(view.show_running, name, _running_note(limited))
                self._compare_one(engine, prompt, limited, key, view, name)

        self.run_worker(work, thread=True, group="compare", exclusive=True)

    def _compare_stopped(self, view: CompareView, name: str) -> None:
        with contextlib.suppress(RuntimeError):  # the app itself may be closing
            self.call_from_thread(view.show_error, name, "stopped (a newer /compare)")

    def _compare_one(
        self,
        engine: Engine,
        prompt: str,
        settings: DecodingSettings,
        key: str | None,
        view: CompareView,
        name: str,
    ) -> None:
        """One preset's column, streamed token by token (in a worker thread)."""
        from textual.worker import get_current_worker

        from assistant.errors import AssistantError

        worker = get_current_worker()
        text = ""

        def show_beams(beams: list[list[int]]) -> None:  # beam search, between its steps
            if beams and beams[0] and not worker.is_cancelled:
                self.call_from_thread(view.show_beams, name, [engine.decode(b) for b in beams])

        try:
            with engine.stream(prompt, settings, cache_key=key) as stream:
                stream.beam_watch = show_beams
                for step in stream:
                    if worker.is_cancelled:
                        self._compare_stopped(view, name)
                        return
                    text += step.text
                    self.call_from_thread(view.show_partial, name, text)
                generation = stream.result()
        except AssistantError as exc:
            self.call_from_thread(view.show_error, name, str(exc))
            return
        self.call_from_thread(view.show_result, name, generation)

    # ------------------------------------------------------------------ settings
    def command_settings(self, _: str) -> None:
        from assistant.core.decoding import DecodingSettings
        from assistant.tui.screens.settings import SettingsScreen

        def applied(settings: DecodingSettings | None) -> None:
            if settings is not None:
                self.decoding = settings
                self.notify("Decoding settings apply from the next turn.")

        self.push_screen(SettingsScreen(self.decoding or DecodingSettings()), applied)

    def command_preset(self, name: str) -> None:
        from assistant.errors import UsageError
        from assistant.tui.settings_form import preset_keeping_grounding

        try:  # the seed and the grounding stay (beam search turns grounding off)
            chosen = preset_keeping_grounding(name, self.decoding)
        except UsageError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        dropped = self.decoding is not None and self.decoding.grounding != chosen.grounding
        self.decoding = chosen
        note = " (grounding off: beam search runs without it)" if dropped else ""
        self.notify(f"Preset {name} from the next turn{note}.", markup=False)
