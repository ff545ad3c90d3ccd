"""One live MCP server (stdio or Streamable HTTP), owned by a single task on the hub's
private event loop.

``ServerConnection.run`` spawns the server (stderr → its log file) or opens an HTTP session
with it, initializes it within the init timeout, lists its tools, then waits until it is told
to stop or the connection ends (the process exited, or the HTTP transport failed). Leaving
``run`` tears the process tree down through the SDK's bounded shutdown (close stdin, SIGTERM,
SIGKILL), so no server outlives its connection; an HTTP session is closed (bounded DELETE).

An HTTP server that dies is noticed by the call that finds it gone; that call fails, and the
next one connects afresh (the pool's restart on next use, as for a stdio server).

The hub's thread talks to it through two ``threading.Event``s: ``started`` (ready or failed)
and ``finished`` (process gone, task over).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import httpx2
from anyio.streams.memory import MemoryObjectSendStream
from mcp import ClientSession
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage
from mcp.types import (
    CONNECTION_CLOSED,
    CallToolResult,
    PaginatedRequestParams,
    Tool,
)

from assistant.tools.config import ServerConfig
from assistant.tools.transports import (
    endpoint,
    http_failure_reason,
    is_unknown_session,
    open_streams,
)

_MAX_TOOL_PAGES = 20
# How long a call that lost its HTTP connection waits for ``run`` to record why.
_CAUSE_WAIT_S = 0.5


class ServerExited(Exception):
    """The server's process ended, or its HTTP connection was lost, while (or before) we
    talked to it."""


class SessionExpired(ServerExited):
    """An HTTP server no longer knows our session (it restarted, or it timed the session
    out); it rejected the request without running it."""


class CallTimedOut(Exception):
    """A tool call ran past its bound; the server has been told to stop."""


class ServerConnection:
    def __init__(self, config: ServerConfig, log_path: Path, init_timeout_s: float) -> None:
        self.config = config
        self.log_path = log_path
        self.init_timeout_s = init_timeout_s
        self.tools: list[Tool] = []
        self.error: str | None = None  # why it failed to start, or why it ended
        self.started = threading.Event()
        self.finished = threading.Event()
        self._session: ClientSession | None = None
        self._wake: anyio.Event | None = None
        self._done: anyio.Event | None = None
        self._stop_requested = False
        self._log_offset = 0

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def remote(self) -> bool:
        """Reached over HTTP: nothing of it runs here, a failure only ends the session."""
        return self.config.url is not None

    @property
    def alive(self) -> bool:
        """Ready to take calls: initialized and neither stopped nor exited."""
        return self._session is not None and not self.finished.is_set() and not self._woken()

    def _woken(self) -> bool:
        return self._wake is not None and self._wake.is_set()

    # -- lifecycle (runs on the event loop) -----------------------------------------------

    async def run(self) -> None:
        self._wake, self._done = anyio.Event(), anyio.Event()
        if self._stop_requested:  # closed before it ever ran
            self.error = "stopped"
            self.started.set()
            self.finished.set()
            return
        try:
            async with AsyncExitStack() as stack:
                errlog = stack.enter_context(self._open_log())
                read, write = await stack.enter_async_context(
                    open_streams(self.config, errlog, self.init_timeout_s)
                )
                # A relay between transport and session tells us when stdout ends (the
                # process is gone) even while no call is waiting on it.
                tg = await stack.enter_async_context(anyio.create_task_group())
                stack.callback(tg.cancel_scope.cancel)
                send, receive = anyio.create_memory_object_stream[SessionMessage | Exception](0)
                tg.start_soon(self._relay, read, send)
                session = await stack.enter_async_context(ClientSession(receive, write))
                with anyio.move_on_after(self.init_timeout_s) as scope:
                    await session.initialize()
                    self.tools = await self._list_tools(session)
                if scope.cancelled_caught:
                    self._fail(f"did not initialize within {self.init_timeout_s:g} s")
                    return
                self._session = session
                self.started.set()
                await self._wake.wait()
                self._session = None
                if not self._stop_requested:
                    self.error = self._ended_message()
        except Exception as exc:  # any failure is reported, never raised
            cause = _root_cause(exc)
            if not self.started.is_set():
                self._fail(self._startup_error(cause))
            elif self.error is None and not self._stop_requested:
                # a live HTTP session's transport failed (e.g. the server went away)
                self.error = self._lost_message(cause) if self.remote else self._exited_message()
        finally:
            self._session = None
            self.started.set()
            self.finished.set()
            self._done.set()

    def stop(self) -> None:
        """Ask ``run`` to shut the server down (call on the event loop)."""
        self._stop_requested = True
        if self._wake is not None:
            self._wake.set()

    async def _relay(
        self,
        source: AsyncIterable[SessionMessage | Exception],
        sink: MemoryObjectSendStream[SessionMessage | Exception],
    ) -> None:
        try:
            async with sink:
                async for item in source:
                    await sink.send(item)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass
        finally:
            if self._wake is not None:
                self._wake.set()

    async def _list_tools(self, session: ClientSession) -> list[Tool]:
        tools: list[Tool] = []
        cursor: str | None = None
        for _ in range(_MAX_TOOL_PAGES):
            params = PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await session.list_tools(params=params)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        return tools

    # -- calls (run on the event loop) ----------------------------------------------------

    async def call_tool(
        self, tool: str, arguments: dict[str, Any], timeout_s: float
    ) -> CallToolResult:
        """Call one tool; raises ServerExited, CallTimedOut, or MCPError for protocol errors."""
        session = self._session
        if session is None or self._woken():
            raise ServerExited(self.error or "server is not running")
        result: CallToolResult | None = None
        with anyio.move_on_after(timeout_s):
            try:
                result = await session.call_tool(tool, arguments)
            except MCPError as exc:
                if exc.code == CONNECTION_CLOSED:
                    raise ServerExited(await self._closed_message(exc)) from None
                if self.remote and is_unknown_session(exc):
                    self.error = f"server {self.name} ended our session ({exc.message})"
                    self.stop()
                    raise SessionExpired(self.error) from None
                raise
        if result is None:
            # A hung server would keep its state; kill it (or drop the HTTP session) and
            # start afresh on next use.
            what = "disconnected" if self.remote else "stopped"
            self.error = f"{what} after a call timed out after {timeout_s:g} s"
            self.stop()
            raise CallTimedOut(f"timed out after {timeout_s:g} s")
        return result

    async def _closed_message(self, exc: MCPError) -> str:
        """Why a call's connection closed under it; an HTTP session is then given up."""
        if not self.remote:
            return self._exited_message()
        if self._done is not None:
            # A failed transport ends ``run``, which records why (refused, reset, ...).
            with anyio.move_on_after(_CAUSE_WAIT_S):
                await self._done.wait()
            if not self._done.is_set():
                # The transport is open but the server broke this call's stream (it died
                # or dropped the session mid-call): give the session up.
                self.error = self._lost_message(exc)
                self.stop()
        return self.error or self._lost_message(exc)

    # -- helpers ----------------------------------------------------------------------------

    def _open_log(self) -> Any:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.log_path.open("a", encoding="utf-8", errors="replace")
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        action = "connecting to" if self.remote else "starting"
        handle.write(f"--- {stamp} {action} {self.name}: {endpoint(self.config)}\n")
        handle.flush()
        self._log_offset = handle.tell()
        return handle

    def _startup_error(self, exc: BaseException) -> str:
        if self.remote:
            return self._remote_startup_error(exc)
        if isinstance(exc, MCPError):
            if exc.code == CONNECTION_CLOSED:
                return self._exited_message(during_startup=True)
            return f"failed to initialize: {exc.message}"
        if isinstance(exc, OSError):
            return f"cannot start {self.config.command!r}: {exc.strerror or exc}"
        return f"failed to start: {type(exc).__name__}: {exc}"

    def _remote_startup_error(self, exc: BaseException) -> str:
        url = self.config.url
        if isinstance(exc, httpx2.TransportError):
            return f"cannot connect to {url}: {http_failure_reason(exc)}"
        tail = self._stderr_tail()
        if isinstance(exc, MCPError):
            status = f" ({tail})" if tail.startswith("HTTP ") else ""
            return f"failed to initialize at {url}: {exc.message}{status}"
        return f"failed to connect to {url}: {type(exc).__name__}: {exc}"

    def _ended_message(self) -> str:
        if self.remote:
            return f"server {self.name} closed its connection ({self.config.url})"
        return self._exited_message()

    def _lost_message(self, exc: BaseException) -> str:
        """A live HTTP session ended under us (server gone, refused, or broke the stream)."""
        reason = exc.message if isinstance(exc, MCPError) else http_failure_reason(exc)
        return f"server {self.name} lost its connection to {self.config.url}: {reason}"

    def _fail(self, message: str) -> None:
        self.error = message
        self.started.set()

    def _exited_message(self, *, during_startup: bool = False) -> str:
        when = " during startup" if during_startup else ""
        tail = self._stderr_tail()
        detail = f": {tail}" if tail else ""
        return f"server {self.name} exited{when}{detail} (log: {self.log_path})"

    def _stderr_tail(self) -> str:
        """The server's last stderr line since this start: usually the reason it died."""
        try:
            with self.log_path.open("r", encoding="utf-8", errors="replace") as fh:
                fh.seek(self._log_offset)
                lines = [line.strip() for line in fh.read()[-4000:].splitlines() if line.strip()]
        except OSError:
            return ""
        return lines[-1][:200] if lines else ""


def _root_cause(exc: BaseException) -> BaseException:
    """The first leaf of nested task-group exception groups (what actually went wrong)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc
