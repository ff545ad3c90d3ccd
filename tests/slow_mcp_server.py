"""A misbehaving MCP stdio server for chat tests: sleeps on request, returns huge results.

Run as ``python tests/slow_mcp_server.py``; it speaks MCP over stdio like any third-party
server a user might add to mcp.json.
"""

from __future__ import annotations

import time

from mcp.server.mcpserver import MCPServer

server = MCPServer(name="slow")


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def sleep(seconds: float) -> str:
    """Sleep, then say so (a hung server when seconds is large)."""
    time.sleep(seconds)
    return f"slept {seconds} s"


@server.tool()
def big(chars: int) -> str:
    """A result of ``chars`` characters: numbered lines."""
    line = "line of a very large tool result that must be capped before the prompt\n"
    text = "".join(f"{i:07d} {line}" for i in range(chars // (len(line) + 8) + 1))
    return text[:chars]


if __name__ == "__main__":
    server.run("stdio")
