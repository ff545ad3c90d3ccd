"""The two ways to reach an MCP server, as the SDK's transports: a child process on stdio,
or a Streamable HTTP endpoint. Both yield the (read, write) streams a ClientSession takes.

A server's log file gets its stderr (stdio) or the HTTP errors it answered with (HTTP), so
the last line of that log usually says why the server failed either way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TextIO

import anyio
import httpx2
from mcp import StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_REQUEST

from assistant.tools.config import ServerConfig

# Closing an HTTP session (its DELETE request) may wait this long on an unresponsive server.
HTTP_CLOSE_BOUND_S = 3.0
# A request's answer may stream for as long as the call timeout allows; the SDK's own
# read bound only has to outlast it (calls are bounded above this layer).
_HTTP_READ_S = 3600.0
_HTTP_IO_S = 30.0


def endpoint(config: ServerConfig) -> str:
    """What the server is, for logs and messages: its command line or its URL."""
    if config.url is not None:
        return config.url
    return " ".join([config.command, *config.args])


@asynccontextmanager
async def open_streams(
    config: ServerConfig, log: TextIO, connect_timeout_s: float
) -> AsyncIterator[tuple[Any, Any]]:
    """The server's message streams, open until the block is left (which ends the process
    or the HTTP session)."""
    if config.url is None:
        params = StdioServerParameters(
            command=config.command,
            args=list(config.args),
            env=dict(config.env) or None,
            cwd=config.cwd,
        )
        async with stdio_client(params, errlog=log) as (read, write):
            yield read, write
        return
    async with _http_streams(config.url, config.headers, log, connect_timeout_s) as streams:
        yield streams


@asynccontextmanager
async def _http_streams(
    url: str, headers: dict[str, str], log: TextIO, connect_timeout_s: float
) -> AsyncIterator[tuple[Any, Any]]:
    async def note_http_error(response: httpx2.Response) -> None:
        if response.status_code >= 400:
            request = response.request
            log.write(
                f"HTTP {response.status_code} {response.reason_phrase} from "
                f"{request.method} {request.url}\n"
            )
            log.flush()

    client = httpx2.AsyncClient(
        headers=headers,
        timeout=httpx2.Timeout(_HTTP_IO_S, connect=connect_timeout_s, read=_HTTP_READ_S),
        event_hooks={"response": [note_http_error]},
    )
    async with client:
        # The deadline is set only once the caller is done, so that it bounds the session's
        # DELETE on the way out (an unresponsive server must not hold up a restart).
        with anyio.CancelScope() as closing:
            async with streamable_http_client(url, http_client=client) as (read, write):
                try:
                    yield read, write
                finally:
                    closing.deadline = anyio.current_time() + HTTP_CLOSE_BOUND_S


def is_unknown_session(exc: MCPError) -> bool:
    """The SDK's answer to a request on a session the server does not know: its server's
    "Session not found" body, or the client's own "Session terminated" for a bare 404."""
    return exc.code == INVALID_REQUEST and "session" in exc.message.lower()


def http_failure_reason(exc: BaseException) -> str:
    """A transport error in a few words (httpx messages can be empty)."""
    text = str(exc).strip().rstrip(".")
    if isinstance(exc, httpx2.ConnectError):
        return text or "connection refused"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
