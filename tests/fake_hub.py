"""A real HTTP server standing in for the Hugging Face hub: one model repo, served under the
hub's URL layout, with the headers huggingface_hub reads.

- ``GET /api/models/<id>[/revision/<rev>]`` (``?blobs=true``): id, sha, siblings with sizes
- ``GET /api/models/<id>/tree/<rev>``: the file list snapshot_download walks
- ``HEAD|GET /<id>/resolve/<rev>/<file>``: ETag, X-Repo-Commit, Content-Length, the bytes

``gate_after``: the server sends that many bytes of the big weights file, then waits for
``release`` before sending the rest (a throttled link that a test can cancel "midway").
Run standalone (``python -m tests.fake_hub DIR REPO [BYTES_PER_S]``) it prints its address
and serves until killed.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

COMMIT = "0123456789abcdef0123456789abcdef01234567"
# Files the real gpt2 repo also has, that a download must skip (served, tiny, never wanted).
DISTRACTORS = {"tf_model.h5": b"not for us", "flax_model.msgpack": b"nor this", "README.md": b"#"}


class FakeHub:
    def __init__(
        self,
        files: dict[str, bytes],
        repo_id: str,
        *,
        gate_after: int | None = None,
        bytes_per_second: int | None = None,
    ) -> None:
        self.files = {**DISTRACTORS, **files}
        self.repo_id = repo_id
        self.gate_after = gate_after
        self.bytes_per_second = bytes_per_second  # a slow link, for trying the UI by hand
        self.release = threading.Event()
        self.gate_reached = threading.Event()
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @classmethod
    def of_directory(cls, folder: Path, repo_id: str, **kwargs: Any) -> FakeHub:
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
        return cls(files, repo_id, **kwargs)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeHub:
        self._thread.start()
        return self

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def downloaded(self) -> list[str]:
        """Files fetched with GET (not just HEAD)."""
        prefix = f"/{self.repo_id}/resolve/"
        return [p.split("/", 1)[1] for m, p in self._resolves(prefix) if m == "GET"]

    def _resolves(self, prefix: str) -> list[tuple[str, str]]:
        return [(m, p[len(prefix) :]) for m, p in self.requests if p.startswith(prefix)]

    def _metadata(self) -> dict[str, Any]:
        return {
            "id": self.repo_id,
            "modelId": self.repo_id,
            "sha": COMMIT,
            "private": False,
            "siblings": [
                {"rfilename": name, "size": len(data), "blobId": _etag(data)}
                for name, data in self.files.items()
            ],
        }

    def _tree(self) -> list[dict[str, Any]]:
        return [
            {"type": "file", "path": name, "size": len(data), "oid": _etag(data)}
            for name, data in self.files.items()
        ]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                self._serve(body=True)

            def _serve(self, *, body: bool) -> None:
                path = unquote(urlparse(self.path).path)
                hub.requests.append((self.command, path))
                api = f"/api/models/{hub.repo_id}"
                resolve = f"/{hub.repo_id}/resolve/"
                if path in (api, f"{api}/revision/main", f"{api}/revision/{COMMIT}"):
                    self._json(hub._metadata(), body)
                elif path.startswith(f"{api}/tree/"):
                    self._json(hub._tree(), body)
                elif path.startswith(resolve):
                    _, _, filename = path[len(resolve) :].partition("/")
                    self._file(filename, body)
                else:
                    self._send(404, b'{"error": "Repository not found"}', body)

            def _json(self, data: Any, body: bool) -> None:
                self._send(200, json.dumps(data).encode(), body, "application/json")

            def _file(self, filename: str, body: bool) -> None:
                data = hub.files.get(filename)
                if data is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("ETag", f'"{_etag(data)}"')
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if not body:
                    return
                gate = hub.gate_after
                try:
                    if gate is not None and len(data) > gate:
                        self.wfile.write(data[:gate])
                        self.wfile.flush()
                        hub.gate_reached.set()
                        hub.release.wait(60)
                        self.wfile.write(data[gate:])
                    elif hub.bytes_per_second:
                        piece = max(1, hub.bytes_per_second // 10)
                        for start in range(0, len(data), piece):
                            self.wfile.write(data[start : start + piece])
                            time.sleep(0.1)
                    else:
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    return

            def _send(self, code: int, payload: bytes, body: bool, kind: str = "") -> None:
                self.send_response(code)
                self.send_header("Content-Length", str(len(payload)))
                if kind:
                    self.send_header("Content-Type", kind)
                self.end_headers()
                if body:
                    self.wfile.write(payload)

        return Handler


def _etag(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


if __name__ == "__main__":  # pragma: no cover - for trying the first run by hand
    rate = int(sys.argv[3]) if len(sys.argv) > 3 else None  # bytes per second
    hub = FakeHub.of_directory(Path(sys.argv[1]), sys.argv[2], bytes_per_second=rate).start()
    print(hub.endpoint, flush=True)
    threading.Event().wait()
