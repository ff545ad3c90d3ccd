"""One live stdio MCP server, owned by a single task on the hub's private event loop.

``ServerConnection.run`` spawns the server (stderr → its log file), initializes it within the
init timeout, lists its tools, then waits until it is told to stop or the server's stdout
ends (it exited or crashed). Leaving ``run`` tears the process tree down through the SDK's
bounded shutdown (close stdin, SIGTERM, SIGKILL), so no server outlives its connection.

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
from anyio.streams.memory import MemoryObjectSendStream
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage
from mcp.types import CONNECTION_CLOSED, CallToolResult, PaginatedRequestParams, Tool

from assistant.tools.config import ServerConfig

_MAX_TOOL_PAGES = 20


class ServerExited(Exception):
    """The server's process ended while (or before) we talked to it."""


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
        self._stop_requested = False
        self._log_offset = 0

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def alive(self) -> bool:
        """Ready to take calls: initialized and neither stopped nor exited."""
        return self._session is not None and not self.finished.is_set() and not self._woken()

    def _woken(self) -> bool:
        return self._wake is not None and self._wake.is_set()

    # -- lifecycle (runs on the event loop) -----------------------------------------------

    async def run(self) -> None:
        self._wake = anyio.Event()
        if self._stop_requested:  # closed before it ever ran
            self.error = "stopped"
            self.started.set()
            self.finished.set()
            return
        try:
            async with AsyncExitStack() as stack:
                errlog = stack.enter_context(self._open_log())
                read, write = await stack.enter_async_context(
                    stdio_client(self._parameters(), errlog=errlog)
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
                    self.error = self._exited_message()
        except Exception as exc:  # any startup failure is reported, never raised
            self._fail(self._startup_error(_root_cause(exc)))
        finally:
            self._session = None
            self.started.set()
            self.finished.set()

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
                    raise ServerExited(self._exited_message()) from None
                raise
        if result is None:
            # A hung server would keep its state; kill it and start afresh on next use.
            self.error = f"stopped after a call timed out after {timeout_s:g} s"
            self.stop()
            raise CallTimedOut(f"timed out after {timeout_s:g} s")
        return result

    # -- helpers ----------------------------------------------------------------------------

    def _parameters(self) -> StdioServerParameters:
        cfg = self.config
        return StdioServerParameters(
            command=cfg.command,
            args=list(cfg.args),
            env=dict(cfg.env) or None,
            cwd=cfg.cwd,
        )

    def _open_log(self) -> Any:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.log_path.open("a", encoding="utf-8", errors="replace")
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        command = " ".join([self.config.command, *self.config.args])
        handle.write(f"--- {stamp} starting {self.name}: {command}\n")
        handle.flush()
        self._log_offset = handle.tell()
        return handle

    def _startup_error(self, exc: BaseException) -> str:
        if isinstance(exc, MCPError):
            if exc.code == CONNECTION_CLOSED:
                return self._exited_message(during_startup=True)
            return f"failed to initialize: {exc.message}"
        if isinstance(exc, OSError):
            return f"cannot start {self.config.command!r}: {exc.strerror or exc}"
        return f"failed to start: {type(exc).__name__}: {exc}"

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
