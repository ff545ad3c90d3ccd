"""How our MCP servers are reached: stdio (the default) or Streamable HTTP on a port.

Every server's ``main`` calls ``add_transport_arguments`` on its parser and ends with
``serve(server, options)``. Over HTTP a server listens on loopback unless ``--allow-remote``
says otherwise: an MCP server's tools are reachable by anyone who can reach its port.

In stdio mode stdout carries the protocol and nothing else; in HTTP mode the logs and the
one "serving at" line go to stderr all the same, so a supervisor can read the address there.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import socket
import sys

import anyio
from mcp.server.mcpserver import MCPServer

STDIO = "stdio"
STREAMABLE_HTTP = "streamable-http"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_PATH = "/mcp"
# Printed to stderr once the socket is bound (``{url}`` is where clients connect).
SERVING_LINE = "serving MCP over Streamable HTTP at {url}"

logger = logging.getLogger(__name__)


class TransportError(Exception):
    """Transport options that cannot be honoured (a one-line reason)."""


def add_transport_arguments(parser: argparse.ArgumentParser) -> None:
    """``--transport``, ``--host``, ``--port``, ``--path`` and ``--allow-remote``."""
    group = parser.add_argument_group("transport")
    group.add_argument(
        "--transport",
        choices=[STDIO, STREAMABLE_HTTP],
        default=STDIO,
        help="speak MCP on stdin/stdout (default) or serve it over Streamable HTTP",
    )
    group.add_argument(
        "--host", default=DEFAULT_HOST, help=f"HTTP address to bind (default {DEFAULT_HOST})"
    )
    group.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"HTTP port (default {DEFAULT_PORT}; 0 picks a free one, printed on stderr)",
    )
    group.add_argument(
        "--path", default=DEFAULT_PATH, help=f"HTTP endpoint path (default {DEFAULT_PATH})"
    )
    group.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow --host to be an address other than loopback (no authentication!)",
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only: ``localhost`` or a loopback address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def check_transport_options(options: argparse.Namespace) -> None:
    """Raise ``TransportError`` for options the server must refuse before binding."""
    if options.transport != STREAMABLE_HTTP:
        return
    if not 0 <= options.port <= 65535:
        raise TransportError(f"--port must be between 0 and 65535, not {options.port}")
    if not options.path.startswith("/"):
        raise TransportError(f"--path must start with '/', not {options.path!r}")
    if not is_loopback(options.host) and not options.allow_remote:
        raise TransportError(
            f"refusing to listen on {options.host!r}: not a loopback address "
            "(pass --allow-remote to serve other machines)"
        )


def serve(server: MCPServer, options: argparse.Namespace) -> int:
    """Run ``server`` on the chosen transport until it is stopped; the process's exit code.

    A refused option or a port that cannot be bound is one line on stderr and exit code 2.
    """
    try:
        check_transport_options(options)
    except TransportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if options.transport == STDIO:
        server.run("stdio")
        return 0
    try:
        sock = bind_socket(options.host, options.port)
    except TransportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    with sock:
        anyio.run(_serve_http, server, sock, options)
    return 0


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (bound here so a busy port is a clear error
    and ``--port 0`` can report the port it got)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise TransportError(f"cannot resolve --host {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise TransportError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def endpoint_url(sock: socket.socket, path: str) -> str:
    """``http://host:port/path`` for a bound socket (IPv6 hosts in brackets)."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{path}"


async def _serve_http(server: MCPServer, sock: socket.socket, options: argparse.Namespace) -> None:
    import uvicorn  # only HTTP mode needs the web server stack

    app = server.streamable_http_app(streamable_http_path=options.path, host=options.host)
    # log_config=None keeps the stderr logging the server set up (uvicorn's own default
    # sends access lines to stdout).
    config = uvicorn.Config(
        app, log_config=None, log_level=logging.getLogger().level, access_log=False
    )
    print(SERVING_LINE.format(url=endpoint_url(sock, options.path)), file=sys.stderr, flush=True)
    await uvicorn.Server(config).serve(sockets=[sock])
