"""ToolHub: every configured MCP server behind a synchronous, thread-safe API.

The MCP client is asynchronous; the chat session, the CLI and the TUI's workers are not. The
hub runs its own event loop in a background thread (an anyio blocking portal) and every public
method blocks on it with a bound, so a crashed or hung server costs at most its timeout and
never an exception: failures come back as ``ToolResult(ok=False, ...)``.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp.shared.exceptions import MCPError

from assistant.tools.calllog import CallLog
from assistant.tools.config import ToolsConfig, load_tools_config
from assistant.tools.connection import CallTimedOut, ServerConnection, ServerExited
from assistant.tools.plan import PlannedCall
from assistant.tools.results import ToolInfo, ToolResult, failure, success

if TYPE_CHECKING:
    from assistant.settings import Settings

logger = logging.getLogger(__name__)

ApproveFn = Callable[[PlannedCall], bool]
# Slack on top of a bound before the caller stops waiting for the event loop itself.
_LOOP_MARGIN_S = 5.0
_SHUTDOWN_BOUND_S = 10.0


class ToolHub:
    def __init__(self, config: ToolsConfig, *, log_dir: Path, calls_db: Path) -> None:
        self.config = config
        self.log_dir = log_dir
        self.calls = CallLog(calls_db)
        _log_sdk_to_file(log_dir / "mcp-client.log")
        self.approve_all = False  # `--yes`: every call counts as approved
        self._connections: dict[str, ServerConnection] = {}
        self._retired: list[ServerConnection] = []  # replaced by a restart, maybe still exiting
        self._start_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._portal_cm: contextlib.AbstractContextManager[BlockingPortal] | None = None
        self._portal: BlockingPortal | None = None
        self._started = False
        self._closed = False

    @classmethod
    def from_settings(cls, settings: Settings) -> ToolHub:
        return cls(
            load_tools_config(settings),
            log_dir=settings.log_dir,
            calls_db=settings.data_dir / "tool_calls.sqlite3",
        )

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> list[str]:
        """Start every server concurrently; one line per server that failed (never raises)."""
        self._started = True
        if self._closed:
            return ["the tool hub is closed"]
        # Holding every start lock keeps a concurrent call() from launching a second copy.
        locks = [self._start_lock(name) for name in sorted(self.config.servers)]
        with contextlib.ExitStack() as held:
            for lock in locks:
                held.enter_context(lock)
            pending = [name for name in self.config.servers if not self._is_alive(name)]
            connections = [self._launch(name) for name in pending]
            errors = []
            for conn in connections:
                self._wait_started(conn)
                if conn.error is not None and not conn.alive:
                    own = conn.error.startswith(f"server {conn.name} ")
                    errors.append(conn.error if own else f"{conn.name}: {conn.error}")
        return errors

    def close(self) -> None:
        """Stop every server and the event loop; waits (bounded) for the processes to go."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            connections = [*self._connections.values(), *self._retired]
        with contextlib.suppress(Exception):
            atexit.unregister(self.close)
        for conn in connections:
            self._stop(conn)
        deadline = time.monotonic() + _SHUTDOWN_BOUND_S
        for conn in connections:
            if not conn.finished.wait(max(0.0, deadline - time.monotonic())):
                logger.warning("MCP server %s did not shut down in time", conn.name)
        if self._portal_cm is not None:
            try:
                if self._portal is not None:
                    self._portal.call(self._portal.stop, True)
            except RuntimeError:
                pass  # the loop is already gone
            with contextlib.suppress(Exception):
                self._portal_cm.__exit__(None, None, None)
            self._portal_cm = self._portal = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- queries ---------------------------------------------------------------------------

    def server_status(self) -> dict[str, str]:
        """Each configured server: "running", "stopped", "not started" or "failed: ..."."""
        status = {}
        for name in self.config.servers:
            conn = self._connections.get(name)
            if conn is None:
                status[name] = "not started"
            elif conn.alive:
                status[name] = "running"
            elif conn.tools:
                status[name] = f"stopped: {conn.error}" if conn.error else "stopped"
            else:
                status[name] = f"failed: {conn.error}"
        return status

    def list_tools(self) -> list[ToolInfo]:
        """Tools of every server that has started (starting them on first use)."""
        if not self._started:
            self.start()
        infos = []
        for name in self.config.servers:
            conn = self._connections.get(name)
            for tool in conn.tools if conn else []:
                infos.append(
                    ToolInfo(
                        server=name,
                        name=tool.name,
                        description=(tool.description or tool.title or "").strip(),
                        input_schema=dict(tool.input_schema),
                        auto_approved=self.config.is_auto_approved(name, tool.name),
                    )
                )
        return infos

    def log_path(self, server: str) -> Path:
        """Where the server's stderr goes."""
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in server)
        return self.log_dir / f"mcp-{safe}.log"

    def needs_approval(self, server: str, tool: str) -> bool:
        return not self.approve_all and not self.config.is_auto_approved(server, tool)

    # -- calls -----------------------------------------------------------------------------

    def call(
        self,
        server: str,
        tool: str,
        arguments: dict[str, Any],
        *,
        approve: ApproveFn | None = None,
        timeout_s: float | None = None,
        reason: str = "tool call",
    ) -> ToolResult:
        """Call ``server.tool``; every failure comes back as ``ok=False`` (never raises)."""
        began, clock = datetime.now(UTC), time.monotonic()
        result, outcome = self._call(server, tool, arguments, approve, timeout_s, reason)
        elapsed = time.monotonic() - clock
        result = _with_duration(result, elapsed)
        self.calls.record(
            started_at=began,
            server=server,
            tool=tool,
            arguments=arguments if isinstance(arguments, dict) else {"_": arguments},
            outcome=outcome,
            approved=result.approved,
            duration_s=elapsed,
            error=result.error,
            result_chars=len(result.text) if result.ok else 0,
        )
        return result

    def _call(
        self,
        server: str,
        tool: str,
        arguments: dict[str, Any],
        approve: ApproveFn | None,
        timeout_s: float | None,
        reason: str,
    ) -> tuple[ToolResult, str]:
        if self._closed:
            return failure("the tool hub is closed"), "unavailable"
        if server not in self.config.servers:
            known = ", ".join(sorted(self.config.servers)) or "none"
            return failure(f"unknown tool server {server!r} (configured: {known})"), "unavailable"
        if not isinstance(arguments, dict):
            return failure("tool arguments must be a JSON object"), "tool_error"
        conn = self._ensure(server)
        if not conn.alive:
            return failure(f"server {server} is unavailable: {conn.error}"), "unavailable"
        names = [t.name for t in conn.tools]
        if tool not in names:
            listed = ", ".join(names) or "none"
            return failure(f"unknown tool {server}.{tool} (it offers: {listed})"), "unavailable"

        if self.needs_approval(server, tool):
            planned = PlannedCall(server, tool, dict(arguments), reason)
            if approve is None or not _ask(approve, planned):
                return failure("denied by user", approved=False), "denied"

        bound = timeout_s if timeout_s is not None else self.config.call_timeout(server)
        portal = self._ensure_portal()
        future = portal.start_task_soon(conn.call_tool, tool, dict(arguments), bound)
        try:
            raw = future.result(timeout=bound + _LOOP_MARGIN_S)
        except CallTimedOut as exc:
            return failure(f"{server}.{tool} {exc}; the server was stopped"), "timeout"
        except concurrent.futures.TimeoutError:
            future.cancel()
            self._stop(conn)
            return failure(f"{server}.{tool} timed out after {bound:g} s"), "timeout"
        except ServerExited as exc:
            return failure(f"{exc}; it will be restarted on next use"), "crashed"
        except MCPError as exc:
            return failure(f"{server}.{tool} failed: {exc.message}"), "tool_error"
        except Exception as exc:  # e.g. output not matching the tool's declared schema
            return failure(f"{server}.{tool} failed: {type(exc).__name__}: {exc}"), "tool_error"
        result = success(raw, 0.0, self.config.max_result_chars)
        return result, "ok" if result.ok else "tool_error"

    # -- internals -------------------------------------------------------------------------

    def _ensure_portal(self) -> BlockingPortal:
        with self._lock:
            if self._portal is None:
                self._portal_cm = start_blocking_portal(name="mcp-tool-hub")
                self._portal = self._portal_cm.__enter__()
                atexit.register(self.close)
            return self._portal

    def _is_alive(self, name: str) -> bool:
        conn = self._connections.get(name)
        return conn is not None and conn.alive

    def _launch(self, name: str) -> ServerConnection:
        """Start the server's task on the loop; returns at once (wait on ``started``)."""
        portal = self._ensure_portal()
        conn = ServerConnection(
            self.config.servers[name], self.log_path(name), self.config.init_timeout(name)
        )
        with self._lock:
            if self._closed:  # close() won the race: start nothing it would not stop
                conn.error = "the tool hub is closed"
                conn.started.set()
                return conn
            previous = self._connections.get(name)
            self._connections[name] = conn
            if previous is not None:
                self._retired = [c for c in self._retired if not c.finished.is_set()]
                self._retired.append(previous)  # close() still waits for its process
        if previous is not None:
            self._stop(previous)
        portal.start_task_soon(conn.run)
        return conn

    def _ensure(self, name: str) -> ServerConnection:
        """The live connection to ``name``, (re)starting it if it is not running."""
        with self._start_lock(name):
            conn = self._connections.get(name)
            if conn is not None and conn.alive:
                return conn
            conn = self._launch(name)
            self._wait_started(conn)
            return conn

    def _start_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._start_locks.setdefault(name, threading.Lock())

    def _wait_started(self, conn: ServerConnection) -> None:
        """Wait (bounded) until the server is ready or has failed."""
        if not conn.started.wait(self.config.init_timeout(conn.name) + _LOOP_MARGIN_S):
            self._stop(conn)
            conn.error = "did not start in time"

    def _stop(self, conn: ServerConnection) -> None:
        portal = self._portal
        if portal is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is already stopped
            portal.call(conn.stop)


def _log_sdk_to_file(path: Path) -> None:
    """The MCP SDK logs protocol noise from misbehaving servers; it belongs in a file, not
    on the terminal under a TUI. One handler at a time: the newest hub's log directory."""
    sdk = logging.getLogger("mcp")
    for handler in [h for h in sdk.handlers if getattr(h, "_assistant_tools", False)]:
        if getattr(handler, "baseFilename", None) == str(path.absolute()):
            return
        sdk.removeHandler(handler)
        handler.close()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    except OSError:
        return
    handler._assistant_tools = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    sdk.addHandler(handler)
    sdk.propagate = False


def _ask(approve: ApproveFn, planned: PlannedCall) -> bool:
    """Ask the UI; a callback that fails counts as a refusal."""
    try:
        return bool(approve(planned))
    except Exception:
        logger.exception("approval callback failed for %s", planned.name)
        return False


def _with_duration(result: ToolResult, duration_s: float) -> ToolResult:
    return replace(result, duration_s=duration_s)
