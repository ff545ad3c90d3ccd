"""A misbehaving MCP server for the HTTP tests, on our servers' transport options.

Run as ``python tests/http_mcp_server.py --transport streamable-http --port 0``: it prints
the URL it serves on stderr like our servers do. Its tools echo request headers, report the
process id, kill their own process mid-call, and hang.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.context import Context

from mcp_servers.transport import add_transport_arguments, serve

server = MCPServer(name="misbehaving")


@server.tool()
def header(name: str, ctx: Context) -> str:
    """The value of request header ``name`` as this server received it ("" when absent)."""
    return (ctx.headers or {}).get(name.lower(), "")


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


@server.tool()
def die() -> str:
    """Kill this server's process while the call is in flight."""
    os._exit(3)


@server.tool()
def hang(seconds: float = 3600.0) -> str:
    """Answer only after ``seconds`` (a hung server)."""
    time.sleep(seconds)
    return "woke up"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    add_transport_arguments(parser)
    sys.exit(serve(server, parser.parse_args()))
