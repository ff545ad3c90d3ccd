"""Servers for the remote-engine tests, all on 127.0.0.1: llama.cpp's real llama-server
serving a GGUF of the bundled model, and small misbehaving HTTP servers (one that sleeps past
the client's timeout, one that answers with something that is not JSON)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILT_SERVER = REPO_ROOT / ".venv" / "llama.cpp" / "bin" / "llama-server"
# Prompts compared remote against local (tests and benchmarks/remote.py): English, Polish,
# Russian and Chinese, so multi-byte tokens cross the wire.
PROMPTS = [
    "The capital of France is",
    "Greedy decoding picks the most probable token",
    "Once upon a time there was a",
    "Beam search keeps the best partial sequences",
    "LoRA adds low-rank adapter matrices to",
    "A language model assigns a probability to",
    "Temperature divides the logits before the softmax, so",
    "Zażółć gęślą jaźń. Привет, мир! 你好",
]


def llama_server_binary() -> Path | None:
    """$LLAMA_SERVER, else the one `make test` builds into .venv, else one on PATH."""
    named = os.environ.get("LLAMA_SERVER")
    if named:
        return Path(named)
    if BUILT_SERVER.is_file():
        return BUILT_SERVER
    found = shutil.which("llama-server")
    return Path(found) if found else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dead_port() -> int:
    """A port on which nothing listens (connection refused)."""
    return free_port()


@contextmanager
def llama_server(binary: Path, gguf: Path, *, log: Path) -> Iterator[str]:
    """llama-server on a free loopback port, one slot, waited for on /health; the root URL."""
    port = free_port()
    command = [
        str(binary), "-m", str(gguf), "--host", "127.0.0.1", "--port", str(port),
        "-c", "1024", "-np", "1", "-t", "1", "-tb", "1", "--no-webui", "-a", "bundled-gguf",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"llama-server exited {process.returncode}: {log.read_text()}")
            try:
                with urllib.request.urlopen(root + "/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama-server not healthy in 60 s: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield root
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class _Handler(BaseHTTPRequestHandler):
    mode = "garbage"
    delay = 0.0

    def log_message(self, *args: object) -> None:  # keep pytest's output clean
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.mode == "slow":
            time.sleep(self.delay)
        body = b"<html><body>502 Bad Gateway</body></html>"
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up first (the slow case)
            pass

    do_GET = _answer
    do_POST = _answer


@contextmanager
def bad_server(mode: str, delay: float = 0.0) -> Iterator[str]:
    """``garbage``: every answer is HTML; ``slow``: each answer waits ``delay`` s first."""
    handler = type("Handler", (_Handler,), {"mode": mode, "delay": delay})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
