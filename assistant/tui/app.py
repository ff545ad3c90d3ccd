"""AssistantApp: composes the chat screen, owns the ChatSession, runs turns in workers.

Startup stays light: the session (model, index, MCP servers) is built and loaded in a
background thread after the first frame, so the input is usable at once; heavy modules are
imported there too. Turns, lookups and exports run in Textual thread workers. Inspection
(token view, lookups, forks, /probs, /compare) and conversations (history, export) live in
mixins beside this file.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.geometry import Size
from textual.screen import Screen
from textual.widgets import Footer

from assistant.chat.first_run import DOWNLOAD_STAGE
from assistant.chat.loading import REBUILD_STAGE
from assistant.tui import commands
from assistant.tui.approval_gate import ApprovalGate
from assistant.tui.conversation_actions import ConversationActions
from assistant.tui.inspect_actions import InspectActions
from assistant.tui.messages import SubmitText
from assistant.tui.turn_runner import TurnRunner
from assistant.tui.widgets.answer_block import AnswerBlock
from assistant.tui.widgets.cards import NoticeLine, UserMessage
from assistant.tui.widgets.chat_input import ChatInput
from assistant.tui.widgets.header import StatusHeader, rebuild_ended
from assistant.tui.widgets.token_panel import TokenPanel

if TYPE_CHECKING:
    from assistant.chat.first_run import FirstRun
    from assistant.chat.loading import LoadStage
    from assistant.chat.model_info import ModelInfo
    from assistant.chat.session_protocol import ApproveFn, ChatSessionLike
    from assistant.core.decoding import DecodingSettings

SessionFactory = Callable[["ApproveFn"], "ChatSessionLike"]
SLOW_START_S = 5  # a start at least this slow ends with a notice of each stage's time


def palette_title(text: str) -> str:
    """Palette titles are parsed as markup (and textual.markup.escape leaves "[PROMPT]"
    alone, which the parser then drops): escape every opening bracket."""
    return text.replace("[", "\\[")


class MessageLog(VerticalScroll, can_focus=False):
    """The conversation; stays scrolled to the end while an answer streams. Not focusable
    itself, so Tab goes straight to the messages (the mouse wheel still scrolls it).

    Anchored only once the conversation overflows the view: Textual's anchor sets
    scroll_y = content bottom − view height, which goes negative for a short conversation
    (drawn bottom-aligned over stale cells)."""

    def watch_virtual_size(self, size: Size) -> None:
        self.follow_end()

    def follow_end(self) -> None:
        if (
            not self.is_anchored
            and self.virtual_size.height > self.scrollable_content_region.height
        ):
            self.anchor()

    def clear(self) -> None:
        """Remove every message and drop the anchor until the next overflow."""
        self.anchor(False)
        self.remove_children()


class AssistantApp(InspectActions, ConversationActions, App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "Course Assistant"
    # The ctrl keys are priority bindings so the input box (a TextArea, which binds ctrl+e,
    # ctrl+y …) cannot swallow them; check_action lets them through to modal screens.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "command('stop')", "stop", show=False),
        Binding("f1", "command('help')", "help"),
        Binding("ctrl+n", "command('new')", "new chat", priority=True),
        Binding("ctrl+r", "command('regen')", "regenerate", priority=True),
        Binding("ctrl+t", "command('tokens')", "tokens", priority=True),
        Binding("ctrl+s", "command('settings')", "settings", priority=True),
        Binding("ctrl+o", "command('history')", "history", priority=True),
        Binding("ctrl+e", "command('export')", "export", priority=True),
        Binding("ctrl+y", "command('copy')", "copy", show=False, priority=True),
        Binding("pageup", "scroll_log(-1)", "scroll up", show=False, priority=True),
        Binding("pagedown", "scroll_log(1)", "scroll down", show=False, priority=True),
    ]

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        export_dir: Path | None = None,
        decoding: DecodingSettings | None = None,
    ) -> None:
        super().__init__()
        self.session_factory = session_factory
        self.session: ChatSessionLike | None = None
        self.loaded = threading.Event()
        self.gate = ApprovalGate(self)
        self.runner = TurnRunner(self, self._turn_finished, self._turn_progress)
        self.decoding = decoding  # None: the session's default; applies from the next turn
        self.export_dir = export_dir or Path.cwd()
        self.last_question: str | None = None
        self.load_error: str | None = None
        self.first_run: FirstRun | None = None  # the session's download offer, from loading on
        self._offered = False  # the first-run dialog was shown

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusHeader(id="header")
        with Horizontal(id="main"):
            yield MessageLog(id="log")
            yield TokenPanel(id="token-panel")
        yield ChatInput(id="input")
        yield Footer()

    @property
    def header(self) -> StatusHeader:
        return self.query_one(StatusHeader)

    @property
    def decoding(self) -> DecodingSettings | None:
        return self._decoding

    @decoding.setter
    def decoding(self, settings: DecodingSettings | None) -> None:
        """The next turn's settings; the header says whether their numbers are exact."""
        self._decoding = settings
        if self.is_running:  # no header before the app is composed
            for header in self.query(StatusHeader):
                header.precision = settings.precision if settings is not None else "exact"

    @property
    def log_view(self) -> MessageLog:
        return self.query_one(MessageLog)

    def on_mount(self) -> None:
        self.query_one(ChatInput).focus()
        self.header.status = "starting…"

    def on_ready(self) -> None:
        # Only after the first frame: importing torch in the worker holds the GIL for long
        # stretches and would otherwise delay the first paint.
        self.header.status = "loading model, index and tools…"
        self._load_ticker = self.set_interval(1.0, self._tick_loading)
        # A daemon thread, not a Textual worker: workers are joined when the app exits, and
        # quitting during a first-run index build must not wait for it (the index commits
        # atomically, so an interrupted build leaves the previous index).
        threading.Thread(target=self._load_session, name="session-load", daemon=True).start()

    def _tick_loading(self) -> None:
        """Visible progress while the session loads (the first run also builds the index)."""
        self.header.loading_s += 1

    # ------------------------------------------------------------------ loading
    def _load_session(self) -> None:
        """Background thread: build the session and load model, index and tool servers."""
        try:
            session = self.session_factory(self.gate)
            self.first_run = session.first_run
            if self.first_run is not None:  # asked as soon as the model stage is done
                self.first_run.on_offer = lambda _: self._from_loader(self.offer_download)
            notices = list(session.load(on_stage=self._stage_reported))
        except Exception as exc:  # a broken setup is shown, not raised into the event loop
            self._from_loader(self._load_failed, f"{type(exc).__name__}: {exc}")
            return
        self._from_loader(self._session_ready, session, notices)

    def _stage_reported(self, stage: LoadStage) -> None:
        """Loader thread: a stage started, progressed or ended; the header shows it."""
        self._from_loader(self._stage_heard, stage)

    def _stage_heard(self, stage: LoadStage) -> None:
        self.header.show_stage(stage)
        if stage.name == REBUILD_STAGE and stage.state in ("done", "failed"):
            self.show_notice(*rebuild_ended(stage))
        if stage.name == DOWNLOAD_STAGE and stage.state in ("done", "failed"):
            self._download_ended(stage)

    def _from_loader(self, callback: Callable[..., Any], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the app has already exited
            self.call_from_thread(callback, *args)

    def on_unmount(self) -> None:
        # Let a running turn (or a pending approval) end at once, so exit does not wait.
        self.runner.stop_event.set()

    def _show_model(self, model: ModelInfo | None) -> None:
        self.header.model_name = model.name if model is not None else "no model"
        self.header.fallback = model is not None and model.fallback
        self.header.remote = model is not None and model.remote

    def _session_ready(self, session: ChatSessionLike, notices: Iterable[Any]) -> None:
        self._load_ticker.stop()
        if self.header.loading_s >= SLOW_START_S:  # say afterwards where the time went
            self.show_notice(f"started in {self.header.loading_s} s: {self.header.stages_text}")
        self.header.clear_stages()
        self.header.loading_s = 0
        self.session = session
        model = session.model_info()
        self._show_model(model)
        notices = list(notices)
        for notice in notices:
            self.show_notice(notice.text, notice.level)
        fallback_note = model.notice if model is not None else None
        first_run = session.first_run
        explained = first_run is not None and first_run.handled  # an offer or the offline line
        if (
            self.header.fallback
            and fallback_note
            and not explained
            and all(n.text != fallback_note for n in notices)
        ):
            self.show_notice(fallback_note, "warning")  # say plainly the fallback is in use
        if self.decoding is None:  # start from the session's own defaults
            self.decoding = session.default_decoding
        self.header.status = "generating" if self.runner.busy else "ready"
        self.loaded.set()
        if first_run is not None and first_run.offer is not None and not self._offered:
            self.offer_download()

    def _load_failed(self, message: str) -> None:
        self.load_error = message
        self._load_ticker.stop()
        self.header.clear_stages()
        self.header.loading_s = 0
        self.header.status = "load failed"
        self.show_notice(f"could not start the chat session: {message}", "error")

    def show_notice(self, text: str, level: str = "info") -> None:
        self.log_view.mount(NoticeLine(text, level))

    # ------------------------------------------------------------------ turns
    def on_submit_text(self, message: SubmitText) -> None:
        parsed = commands.parse(message.text)
        if parsed is None:
            self.send(message.text)
            return
        command, arg = parsed
        if command.arg == "required" and not arg:
            self.notify(f"usage: {command.usage}", severity="warning", markup=False)
            return
        getattr(self, f"command_{command.name}")(arg)

    def send(self, text: str, *, regenerate: bool = False) -> None:
        if self.runner.busy:
            self.notify("Still answering: Esc stops it.", severity="warning")
            return
        self.last_question = text
        log = self.log_view
        log.mount(UserMessage(text))
        block = AnswerBlock(self.decoding)
        log.mount(block)
        self.header.status = "generating" if self.loaded.is_set() else "waiting for the model…"
        self.runner.start(block, lambda stop: self._turn_events(text, stop, regenerate))

    def _turn_events(
        self, text: str, stop: threading.Event, regenerate: bool = False
    ) -> Iterator[Any]:
        """Worker side of a turn: wait for the session, then relay its events."""
        while not self.loaded.wait(0.1):
            if stop.is_set():
                return
            if self.load_error is not None:
                from assistant.chat.events import TurnError

                yield TurnError("loading", f"the chat session could not start: {self.load_error}")
                return
        assert self.session is not None
        self.gate.stop_event = stop
        ask = self.session.regenerate if regenerate else self.session.turn
        yield from ask(text, decoding=self.decoding, stop_event=stop)

    def _turn_progress(self, tokens_per_s: float) -> None:
        self.header.status = "generating"
        self.header.tokens_per_s = tokens_per_s

    def _turn_finished(self, block: AnswerBlock) -> None:
        stopped = block.message is not None and block.message.finish_reason == "cancelled"
        self.header.status = "stopped" if stopped else "ready"

    # ------------------------------------------------------------------ commands
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While a modal screen is open its own keys win.
        return not (action in ("command", "scroll_log") and len(self.screen_stack) > 1)

    def action_scroll_log(self, direction: int) -> None:
        if direction < 0:
            self.log_view.scroll_page_up()
        else:
            self.log_view.scroll_page_down()

    def action_command(self, name: str) -> None:
        getattr(self, f"command_{name}")("")

    def command_help(self, _: str) -> None:
        self.log_view.mount(NoticeLine(commands.help_text(), "help"))

    def command_stop(self, _: str) -> None:
        if self.runner.stop():
            self.header.status = "stopping…"

    def command_regen(self, _: str) -> None:
        if self.last_question is None or self.runner.busy:
            self.notify("Nothing to regenerate now.", severity="warning")
            return
        # The session stores the new answer as a sibling branch of the old one.
        self.send(self.last_question, regenerate=True)

    # ------------------------------------------------------------------ model download
    def offer_download(self) -> None:
        """Ask before downloading the configured model (the first run, or /download)."""
        from assistant.tui.screens.model_download import ModelDownloadScreen

        first_run = self.first_run
        if first_run is not None and first_run.offer is not None:
            self._offered = True
            self.push_screen(ModelDownloadScreen(first_run.offer), self._download_answered)

    def _download_answered(self, yes: bool | None) -> None:
        first_run = self.first_run
        if first_run is None or first_run.offer is None:
            return
        if not yes:
            notice = first_run.declined()
            self.show_notice(notice.text, notice.level)
            return
        plan = first_run.offer.plan
        if first_run.start(self._stage_reported):
            self.show_notice(
                f"downloading {plan.name} ({plan.size_text}) in the background; the bundled "
                "course model answers meanwhile (/download cancel stops it)"
            )

    def _download_ended(self, stage: LoadStage) -> None:
        if stage.state == "done":
            if self.session is not None:  # else the header learns it when loading ends
                model = self.session.model_info()
                self._show_model(model)
            self.show_notice(stage.detail)
        else:
            self.show_notice(f"model download: {stage.detail}", "warning")

    def command_download(self, arg: str) -> None:
        first_run = self.first_run
        if first_run is None:
            self.notify("The chat is still loading.", severity="warning")
        elif arg.strip().lower() == "cancel":
            if not first_run.cancel():
                self.notify("No download is running.", severity="warning")
        elif first_run.running:
            self.notify("The download is running (see the header).")
        elif first_run.offer is None:
            self.notify("The configured model is already here: nothing to download.")
        else:
            self.offer_download()

    def command_quit(self, _: str) -> None:
        self.runner.stop()
        self.exit()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for command in commands.COMMANDS:
            title = palette_title(command.usage)
            yield SystemCommand(title, command.help, self._palette_callback(command))
        for name, args in commands.TOOL_COMMANDS:
            title = palette_title(f"{name} {args}")
            yield SystemCommand(title, "tool command: type its arguments", self._prefill(name))

    def _palette_callback(self, command: commands.Command) -> Callable[[], None]:
        if command.arg == "required":  # put "/probs " in the input for the argument
            return self._prefill(f"/{command.name}")
        return lambda: getattr(self, f"command_{command.name}")("")

    def _prefill(self, prefix: str) -> Callable[[], None]:
        def run() -> None:
            box = self.query_one(ChatInput)
            box.text = prefix + " "
            box.move_cursor(box.document.end)
            box.focus()

        return run
