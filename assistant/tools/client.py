"""ToolHub: every configured MCP server behind a synchronous, thread-safe API.

The MCP client is asynchronous; the chat session, the CLI and the TUI's workers are not. The
hub's servers run on their own event loop in a background thread (``ServerPool``) and every
public method blocks on it with a bound, so a crashed or hung server costs at most its timeout
and never an exception: failures come back as ``ToolResult(ok=False, ...)``.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast

from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult

from assistant.tools.calllog import CallLog
from assistant.tools.config import ToolsConfig, load_tools_config
from assistant.tools.connection import (
    CallTimedOut,
    ServerConnection,
    ServerExited,
    SessionExpired,
)
from assistant.tools.plan import PlannedCall
from assistant.tools.results import ToolInfo, ToolResult, failure, success
from assistant.tools.server_pool import LOOP_MARGIN_S, ServerPool

if TYPE_CHECKING:
    from assistant.settings import Settings

logger = logging.getLogger(__name__)

ApproveFn = Callable[[PlannedCall], bool]


class ToolHub:
    def __init__(self, config: ToolsConfig, *, log_dir: Path, calls_db: Path) -> None:
        self.config = config
        self.log_dir = log_dir
        self.calls = CallLog(calls_db)
        _log_sdk_to_file(log_dir / "mcp-client.log")
        self.approve_all = False  # `--yes`: every call counts as approved
        self._servers = ServerPool(config, log_dir)
        self._started = False

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
        return self._servers.start_all()

    def close(self) -> None:
        """Stop every server and the event loop; waits (bounded) for the processes to go."""
        self._servers.close()

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
            conn = self._servers.connection(name)
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
            conn = self._servers.connection(name)
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
        return self._servers.log_path(server)

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
        if self._servers.closed:
            return failure("the tool hub is closed"), "unavailable"
        if server not in self.config.servers:
            known = ", ".join(sorted(self.config.servers)) or "none"
            return failure(f"unknown tool server {server!r} (configured: {known})"), "unavailable"
        if not isinstance(arguments, dict):
            return failure("tool arguments must be a JSON object"), "tool_error"
        conn = self._servers.ensure(server)
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
        try:
            try:
                raw = self._run_call(conn, tool, arguments, bound)
            except SessionExpired:
                # The HTTP server forgot our session (it restarted, or we were idle past its
                # session timeout) and ran nothing: one fresh session, one more try.
                conn = self._servers.ensure(server)
                if not conn.alive:
                    return failure(f"server {server} is unavailable: {conn.error}"), "unavailable"
                raw = self._run_call(conn, tool, arguments, bound)
        except CallTimedOut as exc:
            ended = "the connection was closed" if conn.remote else "the server was stopped"
            return failure(f"{server}.{tool} {exc}; {ended}"), "timeout"
        except concurrent.futures.TimeoutError:
            return failure(f"{server}.{tool} timed out after {bound:g} s"), "timeout"
        except ServerExited as exc:
            again = "reconnected" if conn.remote else "restarted"
            return failure(f"{exc}; it will be {again} on next use"), "crashed"
        except MCPError as exc:
            return failure(f"{server}.{tool} failed: {exc.message}"), "tool_error"
        except Exception as exc:  # e.g. output not matching the tool's declared schema
            return failure(f"{server}.{tool} failed: {type(exc).__name__}: {exc}"), "tool_error"
        result = success(raw, 0.0, self.config.max_result_chars)
        return result, "ok" if result.ok else "tool_error"

    def _run_call(
        self, conn: ServerConnection, tool: str, arguments: dict[str, Any], bound: float
    ) -> CallToolResult:
        """The call on the pool's loop, waited for (bounded) from this thread."""
        future = self._servers.submit(conn.call_tool, tool, dict(arguments), bound)
        try:
            return cast(CallToolResult, future.result(timeout=bound + LOOP_MARGIN_S))
        except concurrent.futures.TimeoutError:
            future.cancel()
            self._servers.stop(conn)
            raise


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
