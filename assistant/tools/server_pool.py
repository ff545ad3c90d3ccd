"""The configured MCP servers' processes and the private event loop they run on.

The pool starts, restarts and stops ``ServerConnection``s, one per configured server, on an
anyio blocking portal (a background thread), and keeps a connection being replaced until its
process is gone. Every wait is bounded. What a call may do, and how its outcome is reported,
is the hub's business (``assistant.tools.client``).
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal

from assistant.tools.config import ToolsConfig
from assistant.tools.connection import ServerConnection

logger = logging.getLogger(__name__)

# Slack on top of a bound before the caller stops waiting for the event loop itself.
LOOP_MARGIN_S = 5.0
_SHUTDOWN_BOUND_S = 10.0


class ServerPool:
    def __init__(self, config: ToolsConfig, log_dir: Path) -> None:
        self.config = config
        self.log_dir = log_dir
        self._connections: dict[str, ServerConnection] = {}
        self._retired: list[ServerConnection] = []  # replaced by a restart, maybe still exiting
        self._start_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._portal_cm: contextlib.AbstractContextManager[BlockingPortal] | None = None
        self._portal: BlockingPortal | None = None
        self.closed = False

    def log_path(self, server: str) -> Path:
        """Where the server's stderr goes."""
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in server)
        return self.log_dir / f"mcp-{safe}.log"

    def connection(self, name: str) -> ServerConnection | None:
        """The latest connection to ``name`` (alive or not), or None if never started."""
        return self._connections.get(name)

    def start_all(self) -> list[str]:
        """Start every server not running, concurrently; one line per server that failed."""
        if self.closed:
            return ["the tool hub is closed"]
        # Holding every start lock keeps a concurrent ensure() from launching a second copy.
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

    def ensure(self, name: str) -> ServerConnection:
        """The live connection to ``name``, (re)starting it if it is not running."""
        with self._start_lock(name):
            conn = self._connections.get(name)
            if conn is not None and conn.alive:
                return conn
            conn = self._launch(name)
            self._wait_started(conn)
            return conn

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        """Run the coroutine function ``fn(*args)`` on the pool's loop."""
        return self._ensure_portal().start_task_soon(fn, *args)

    def stop(self, conn: ServerConnection) -> None:
        """Tell the connection to stop (its process is torn down on the loop)."""
        portal = self._portal
        if portal is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is already stopped
            portal.call(conn.stop)

    def close(self) -> None:
        """Stop every server and the event loop; waits (bounded) for the processes to go."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            connections = [*self._connections.values(), *self._retired]
        with contextlib.suppress(Exception):
            atexit.unregister(self.close)
        for conn in connections:
            self.stop(conn)
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
            if self.closed:  # close() won the race: start nothing it would not stop
                conn.error = "the tool hub is closed"
                conn.started.set()
                return conn
            previous = self._connections.get(name)
            self._connections[name] = conn
            if previous is not None:
                self._retired = [c for c in self._retired if not c.finished.is_set()]
                self._retired.append(previous)  # close() still waits for its process
        if previous is not None:
            self.stop(previous)
        portal.start_task_soon(conn.run)
        return conn

    def _start_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._start_locks.setdefault(name, threading.Lock())

    def _wait_started(self, conn: ServerConnection) -> None:
        """Wait (bounded) until the server is ready or has failed."""
        if not conn.started.wait(self.config.init_timeout(conn.name) + LOOP_MARGIN_S):
            self.stop(conn)
            conn.error = "did not start in time"
