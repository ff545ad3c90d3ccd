"""Helpers for the course search tests: a small course folder, its index, the server process.

The index is built with the rag tests' tiny embedder (real sentence-transformers code paths,
milliseconds), and the server is told to embed queries with the same model.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from anyio.from_thread import start_blocking_portal
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from mcp_servers.transport import SERVING_LINE
from tests.mcp_stdio_client import REPO_ROOT, SyncMcpClient
from tests.rag_support import tiny_embedder_path

MODULE = "mcp_servers.course_search"
# Each line of the long document is one word the tiny tokenizer cannot split (over 100
# characters: one [UNK] token), so a passage of a few dozen tokens holds thousands of characters.
LONG_WORD = "q" * 400

COURSE_FILES = {
    "decoding.md": (
        "# Decoding\n\nGreedy decoding picks the most probable token at every step.\n\n"
        "## Beam search\n\nBeam search keeps the best partial sequences.\n"
    ),
    "attention.md": "# Attention\n\nQueries, keys and values; every head mixes the values.\n",
    "sub/cities.txt": "Warsaw is the capital city of Poland.\nKraków is an old city.\n",
    "long.md": "# Long\n\n" + "".join(f"zebra{i} {LONG_WORD}\n" for i in range(40)),
}


def write_course(folder: Path, files: Mapping[str, str] = COURSE_FILES) -> Path:
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def server_environment(home: Path) -> dict[str, str]:
    """What the server process sees: an isolated home, offline, one thread (stdio clients
    pass only a few variables of their own environment on)."""
    keep = ("PATH", "HOME", "LANG", "HF_HOME", "TMPDIR")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(
        ASSISTANT_HOME=str(home),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        OMP_NUM_THREADS="1",
    )
    return env


def server_arguments(index: Path, *extra: str) -> list[str]:
    return ["-m", MODULE, "--index", str(index), "--embed-model", str(tiny_embedder_path()), *extra]


@asynccontextmanager
async def _stdio_session(arguments: list[str], env: dict[str, str]) -> AsyncIterator[ClientSession]:
    parameters = StdioServerParameters(
        command=sys.executable, args=arguments, env=env, cwd=REPO_ROOT
    )
    async with stdio_client(parameters) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@asynccontextmanager
async def _http_session(url: str) -> AsyncIterator[ClientSession]:
    async with (
        streamable_http_client(url) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@contextmanager
def stdio_server(arguments: list[str], env: dict[str, str]) -> Iterator[SyncMcpClient]:
    """The course search spawned over stdio by the official client, as a synchronous client."""
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(_stdio_session(arguments, env)) as session,
    ):
        yield SyncMcpClient(portal, session)


@contextmanager
def http_server(arguments: list[str], env: dict[str, str]) -> Iterator[SyncMcpClient]:
    """The course search on Streamable HTTP (a free loopback port), with a connected client."""
    command = [sys.executable, *arguments, "--transport", "streamable-http", "--port", "0"]
    process = subprocess.Popen(
        command, env=env, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        url = _served_url(process)
        with (
            start_blocking_portal() as portal,
            portal.wrap_async_context_manager(_http_session(url)) as session,
        ):
            yield SyncMcpClient(portal, session)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _served_url(process: subprocess.Popen[str], timeout: float = 120.0) -> str:
    prefix = SERVING_LINE.split("{url}")[0]
    deadline = time.monotonic() + timeout
    assert process.stderr is not None
    seen: list[str] = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            raise AssertionError(f"server exited before serving: {''.join(seen)[-2000:]}")
        seen.append(line)
        if line.startswith(prefix):
            # Keep reading what the server logs, so a full pipe never blocks it.
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return line[len(prefix) :].strip()
    raise AssertionError("server did not report its address in time")


def snapshot(folder: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under ``folder``: size, modification time and SHA-256."""
    return {
        str(path.relative_to(folder)): (
            path.stat().st_size,
            path.stat().st_mtime_ns,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
