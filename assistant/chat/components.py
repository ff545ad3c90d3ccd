"""The heavy parts of a chat session, created on first use: engine, embedder, retriever, tool
hub, history store, and (for dry runs) a tokenizer alone.

Loads run in the caller's thread (the TUI calls from a worker). A part that cannot be had
becomes a Notice and ``None`` — an empty index or a dead tool server never stops the chat;
only the engine is required, and only when something is to be generated.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from assistant.chat.document_files import document_files
from assistant.chat.events import Notice
from assistant.chat.index_rebuild import WAITING, IndexRebuild, rebuilding_notice
from assistant.chat.model_info import ModelInfo
from assistant.errors import AssistantError, ModelLoadError

if TYPE_CHECKING:
    from assistant.chat.history import HistoryStore
    from assistant.core.engine import Engine
    from assistant.rag.embedder import Embedder
    from assistant.rag.indexer import ProgressEvent
    from assistant.rag.retriever import Retriever
    from assistant.rag.store import EmbedderMismatchError
    from assistant.settings import Settings
    from assistant.tools.client import ToolHub

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenCounter:
    """What budgeting needs from a model: its tokenizer and context length."""

    tokenizer: Any
    context_length: int
    model_name: str

    def count(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


class Components:
    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        retriever: Retriever | None = None,
        tools: ToolHub | None = None,
        history: HistoryStore | None = None,
    ) -> None:
        self.settings = settings
        self._engine = engine
        self._retriever = retriever
        self._tools = tools
        self._history = history
        self._counter: TokenCounter | None = None
        self._known_files: list[str] | None = None
        self._max_calls: int | None = None  # the config's cap, read once while no hub runs
        # None: not tried yet; "" tried and fine; text: why it is unavailable.
        self._retriever_problem: str | None = "" if retriever is not None else None
        # Loaded ahead only by load_all (shared by the index build and the retriever); a
        # turn without it lets the retriever load its own on the first dense query.
        self._embedder: Embedder | None = None
        self._embedder_problem: str | None = None
        # The index another embedder built (retrieval is off until it is rebuilt).
        self.index_mismatch: EmbedderMismatchError | None = None
        self.rebuild: IndexRebuild | None = None  # started by rebuild_index
        self.tool_servers = (0, 0)  # (running, configured) after the tool servers started
        self._tools_started = False  # start() is idempotent: it launches only dead servers
        self._lock = threading.RLock()
        self.notices: list[Notice] = []  # produced by lazy loads, handed out by the session

    # ------------------------------------------------------------------ engine
    @property
    def engine_loaded(self) -> bool:
        return self._engine is not None

    @property
    def engine_if_loaded(self) -> Engine | None:
        return self._engine

    def model_info(self) -> ModelInfo | None:
        """The loaded engine's model, else the tokenizer that counted a prompt; loads nothing."""
        with self._lock:
            if self._engine is not None:
                return ModelInfo.of_engine(self._engine)
            if self._counter is not None:
                counter = self._counter
                return ModelInfo(counter.model_name, counter.context_length, loaded=False)
            return None

    def engine(self) -> Engine:
        """The generator; raises ModelLoadError when no model can be loaded."""
        with self._lock:
            if self._engine is None:
                from assistant.core.engine_factory import REMOTE_NOTICES, engine_from_settings
                from assistant.core.models import quiet_transformers
                from assistant.core.remote_spec import is_remote_engine

                quiet_transformers()
                self._engine = engine_from_settings(self.settings)
                if self._engine.loaded.notice:
                    self.notices.append(Notice(self._engine.loaded.notice, "warning"))
                if is_remote_engine(self._engine):
                    self.notices.extend(Notice(text, "info") for text in REMOTE_NOTICES)
            return self._engine

    def use_engine(self, engine: Engine) -> None:
        """Generate with ``engine`` from the next turn on (a turn running keeps its own)."""
        with self._lock:
            self._engine, self._counter = engine, None

    def counter(self) -> TokenCounter:
        """Tokenizer + context length: the loaded engine's, else the configured model's
        tokenizer alone (fast: no weights), else the bundled model's."""
        with self._lock:
            if self._engine is not None:
                eng = self._engine
                return TokenCounter(eng.tokenizer, eng.context_length, eng.name)
            if self._counter is None:
                self._counter = self._load_counter()
            return self._counter

    def _load_counter(self) -> TokenCounter:
        from transformers import AutoConfig, AutoTokenizer

        from assistant.core.models import BUNDLED_MODEL_DIR, resolve_model_name

        candidates = [(self.settings.model, resolve_model_name(self.settings.model))]
        if self.settings.allow_fallback and (BUNDLED_MODEL_DIR / "config.json").is_file():
            candidates.append(("bundled", str(BUNDLED_MODEL_DIR)))
        problems = []
        for name, source in candidates:
            try:
                tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
                config = AutoConfig.from_pretrained(source, local_files_only=True)
            except (OSError, ValueError) as exc:
                problems.append(f"{name}: {_reason(exc)}")
                continue
            length = getattr(config, "n_positions", None) or config.max_position_embeddings
            if name != self.settings.model:
                self.notices.append(
                    Notice(f"counting tokens with the {name} model's tokenizer", "warning")
                )
            return TokenCounter(tokenizer, int(length), name)
        raise ModelLoadError("no tokenizer available to count tokens: " + "; ".join(problems))

    # ------------------------------------------------------------------ retrieval
    def embedder(self) -> Embedder | None:
        """The embedding model (the given retriever's, else the configured one), or None
        when it cannot be loaded (a Notice says why; the retriever retries on first use)."""
        with self._lock:
            if self._embedder is None and self._embedder_problem is None:
                try:
                    if self._retriever is not None:  # a stand-in retriever may have none
                        self._embedder = getattr(self._retriever, "embedder", None)
                    else:
                        from assistant.rag.embedder import Embedder

                        self._embedder = Embedder(
                            self.settings.embed_model, threads=self.settings.embed_threads
                        )
                    self._embedder_problem = ""
                except (AssistantError, OSError) as exc:
                    self._embedder_problem = _reason(exc)
                    self.notices.append(
                        Notice(f"embedding model unavailable: {self._embedder_problem}", "warning")
                    )
            return self._embedder

    @property
    def retriever_problem(self) -> str:
        """Why retrieval is unavailable ("" when it is fine or not tried yet)."""
        return self._retriever_problem or ""

    @property
    def embedder_problem(self) -> str:
        return self._embedder_problem or ""

    def retriever(
        self, progress: Callable[[ProgressEvent], None] | None = None
    ) -> Retriever | None:
        """The retriever, building the index from the configured documents if there is none
        (``progress`` hears the indexer's events while it builds)."""
        with self._lock:
            if self._retriever is None and self._retriever_problem is None:
                from assistant.rag.store import EmbedderMismatchError

                try:
                    from assistant.rag import Retriever, ensure_index

                    if ensure_index(self.settings, progress, embedder=self._embedder):
                        self.notices.append(Notice("built the document index"))
                    self._retriever = Retriever.open(self.settings, embedder=self._embedder)
                    self._retriever_problem = ""
                except EmbedderMismatchError as exc:
                    self.index_mismatch, self._retriever_problem = exc, str(exc)
                    self.notices.append(Notice(f"{exc} (answering without sources)", "warning"))
                except (AssistantError, OSError) as exc:
                    self._retriever_problem = _reason(exc)
                    self.notices.append(
                        Notice(f"retrieval unavailable: {self._retriever_problem}", "warning")
                    )
            elif (
                self.rebuild is not None
                and self.rebuild.running
                and not any(n.text.startswith(WAITING) for n in self.notices)
            ):
                self.notices.append(self.rebuild.waiting_notice())
            return self._retriever

    def rebuild_index(
        self,
        progress: Callable[[ProgressEvent], None] | None,
        on_end: Callable[[Literal["done", "failed"], str], object],
    ) -> bool:
        """Rebuild an index another embedder built, in a background thread; False when there
        is nothing to rebuild. ``on_end(state, detail)``: "done" or "failed", and why."""
        with self._lock:
            mismatch = self.index_mismatch
            if mismatch is None or (self.rebuild is not None and self.rebuild.running):
                return False
            self.notices = [n for n in self.notices if not n.text.startswith(str(mismatch))]
            self.notices.append(rebuilding_notice(mismatch))

            def done(retriever: Retriever | None, problem: str, summary: str) -> None:
                with self._lock:
                    if self.rebuild is None and retriever is not None:  # closed meanwhile
                        retriever.close()
                        return
                    self._retriever, self._retriever_problem = retriever, problem
                    if retriever is not None:
                        self.index_mismatch = None
                on_end("done" if retriever is not None else "failed", problem or summary)

            self._retriever_problem = WAITING
            self.rebuild = IndexRebuild(
                self.settings, embedder=self._embedder, progress=progress, on_done=done
            ).start()
            return True

    # ------------------------------------------------------------------ tools
    def tools(self) -> ToolHub | None:
        with self._lock:
            if self._tools is None:
                from assistant.tools.client import ToolHub

                try:
                    self._tools = ToolHub.from_settings(self.settings)
                except AssistantError as exc:
                    self.notices.append(Notice(f"tools unavailable: {_reason(exc)}", "warning"))
                    self._tools_started = True  # do not retry every turn
                    return None
            if not self._tools_started:
                self._tools_started = True
                failures = self._tools.start()
                for line in failures:
                    self.notices.append(Notice(f"tool server: {line}", "warning"))
                total = len(self._tools.config.servers)
                self.tool_servers = (total - len(failures), total)
            return self._tools

    @property
    def tools_if_created(self) -> ToolHub | None:
        return self._tools

    def max_calls_per_turn(self) -> int:
        """The tool-call cap of the MCP config (the started hub's, else read from the file).
        A config that cannot be read keeps the default cap; tools() reports why."""
        from assistant.tools.config import ToolsConfig, load_tools_config

        with self._lock:
            if self._tools is not None:
                return self._tools.config.max_calls_per_turn
            if self._max_calls is None:
                try:
                    self._max_calls = load_tools_config(self.settings).max_calls_per_turn
                except AssistantError:
                    self._max_calls = ToolsConfig().max_calls_per_turn
            return self._max_calls

    def known_files(self) -> list[str]:
        """Document file names as the file lookup's paths give them, for the router."""
        with self._lock:
            if self._known_files is None:
                self._known_files = document_files(self.settings.documents)
            return self._known_files

    # ------------------------------------------------------------------ history
    def history(self) -> HistoryStore:
        with self._lock:
            if self._history is None:
                from assistant.chat.history import HistoryStore

                self._history = HistoryStore(self.settings.history_db)
            return self._history

    def close(self) -> None:
        """Shut down what this session created or was given (tool servers, databases)."""
        with self._lock:
            if self._tools is not None:
                self._tools.close()
            if self._retriever is not None:
                self._retriever.close()
            if self._history is not None:
                self._history.close()
            self._tools = self._retriever = self._history = None
            self.rebuild = None  # a rebuild still running hands its retriever back unused
