"""A synchronous MCP stdio client for tests: spawns a server with the official ``mcp`` client.

The async session lives in a blocking portal (a background event loop), so tests and
module-scoped fixtures can hold one live server and call its tools like plain functions.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.types import CallToolResult, TextContent

REPO_ROOT = Path(__file__).resolve().parent.parent
CALL_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ToolOutcome:
    """What a client sees of one tool call."""

    is_error: bool
    structured: Any
    text: str


class SyncMcpClient:
    def __init__(self, portal: BlockingPortal, session: ClientSession) -> None:
        self._portal = portal
        self._session = session

    def list_tool_names(self) -> list[str]:
        result = self._portal.call(self._session.list_tools)
        return [tool.name for tool in result.tools]

    def list_tools(self) -> list[Any]:
        return list(self._portal.call(self._session.list_tools).tools)

    def call(self, name: str, **arguments: Any) -> ToolOutcome:
        async def call_tool() -> Any:
            return await self._session.call_tool(
                name, arguments, read_timeout_seconds=CALL_TIMEOUT_S
            )

        result = self._portal.call(call_tool)
        assert isinstance(result, CallToolResult)
        text = "\n".join(block.text for block in result.content if isinstance(block, TextContent))
        return ToolOutcome(result.is_error, result.structured_content, text)


def server_command(module: str, *arguments: str) -> list[str]:
    return [sys.executable, "-m", module, *arguments]


@asynccontextmanager
async def _open_session(command: Sequence[str]) -> AsyncIterator[ClientSession]:
    parameters = StdioServerParameters(command=command[0], args=list(command[1:]), cwd=REPO_ROOT)
    async with stdio_client(parameters) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@contextmanager
def mcp_server(command: Sequence[str]) -> Iterator[SyncMcpClient]:
    """Spawn ``command`` as an MCP stdio server and yield a connected synchronous client."""
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(_open_session(command)) as session,
    ):
        yield SyncMcpClient(portal, session)
