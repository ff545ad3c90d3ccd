"""A small HTTP client for an OpenAI-compatible model server (vLLM, llama.cpp's server).

Stdlib only (urllib): JSON requests and Server-Sent Events streams. Every failure becomes one
``RemoteServerError`` line that names the server and what went wrong: refused connection,
no answer within the timeout, an HTTP error (with the server's own message), or a body that is
not the API's JSON. Nothing here retries: the chat shows the error and goes on.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from typing import Any

from assistant.errors import AssistantError

DEFAULT_TIMEOUT = 30.0  # seconds to wait for any byte of an answer (per read, not in total)


class RemoteServerError(AssistantError):
    """The model server is unreachable, too slow, refused the request or spoke no API JSON."""


def _snippet(raw: bytes | str, limit: int = 60) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = " ".join(text.split())
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


def parse_sse(lines: Iterable[bytes], where: str = "the model server") -> Iterator[dict[str, Any]]:
    """The JSON events of a Server-Sent Events stream, until ``data: [DONE]`` or its end.

    Per the SSE format an event is its ``data:`` lines joined by newlines, ended by a blank
    line; ``:`` lines are comments (keep-alives). llama.cpp reports a failure mid-stream as an
    ``error:`` line, other servers as an event holding ``error``: both raise."""
    data: list[str] = []

    def event() -> dict[str, Any] | None:
        if not data:
            return None
        payload = "\n".join(data)
        data.clear()
        if payload.strip() == "[DONE]":
            raise StopIteration
        try:
            parsed = json.loads(payload)
        except ValueError:
            raise RemoteServerError(
                f"{where} sent a stream event that is not JSON: {_snippet(payload)}"
            ) from None
        if not isinstance(parsed, dict):
            raise RemoteServerError(f"{where} sent a stream event that is not an object")
        if "error" in parsed:
            raise RemoteServerError(f"{where} failed: {error_message(parsed)}")
        return parsed

    try:
        for raw in lines:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                parsed = event()
                if parsed is not None:
                    yield parsed
            elif line.startswith(":"):
                continue
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif line.startswith("error:"):
                body = line[6:].strip()
                try:
                    message = error_message(json.loads(body))
                except ValueError:
                    message = body
                raise RemoteServerError(f"{where} failed: {message}")
            elif line.startswith(("event:", "id:", "retry:")):
                continue
            else:
                raise RemoteServerError(
                    f"{where} did not answer with an event stream: {_snippet(line)}"
                )
        parsed = event()
        if parsed is not None:
            yield parsed
    except StopIteration:
        return


def error_message(body: Any) -> str:
    """The server's own words from an error body (OpenAI: ``{"error": {"message": …}}``)."""
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            return str(err.get("message") or err.get("detail") or err)[:300]
        if isinstance(err, str):
            return err[:300]
        detail = body.get("detail") or body.get("message")
        if detail:
            return str(detail)[:300]
    return _snippet(json.dumps(body), 300)


class OpenAIClient:
    """JSON and SSE requests to one server (``root_url``: scheme://host:port, no /v1)."""

    def __init__(
        self, root_url: str, *, api_key: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.root_url = root_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.where = f"the model server at {self.root_url}"

    # ------------------------------------------------------------------ requests
    def get_json(self, path: str) -> Any:
        with self._open("GET", path, None) as response:
            return self._json(self._read(response))

    def post_json(self, path: str, body: dict[str, Any]) -> Any:
        with self._open("POST", path, body) as response:
            return self._json(self._read(response))

    def post_stream(self, path: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The events of a streamed answer; closing the iterator closes the connection
        (the server then stops decoding)."""
        response = self._open("POST", path, body)
        try:
            kind = response.headers.get("Content-Type", "")
            if "text/event-stream" not in kind:
                raw = response.read(2000)
                try:
                    parsed = json.loads(raw)
                except ValueError:
                    parsed = None
                if isinstance(parsed, dict) and "error" in parsed:
                    raise RemoteServerError(f"{self.where} failed: {error_message(parsed)}")
                raise RemoteServerError(
                    f"{self.where} did not answer with an event stream "
                    f"(Content-Type {kind or 'none'}): {_snippet(raw)}"
                )
            yield from parse_sse(self._lines(response), self.where)
        finally:
            response.close()

    # ------------------------------------------------------------------ plumbing
    def _read(self, response: Any) -> bytes:
        try:
            return bytes(response.read())
        except TimeoutError:
            raise RemoteServerError(
                f"{self.where} did not finish its answer within {self.timeout:g} s (timed out)"
            ) from None
        except OSError as exc:
            raise RemoteServerError(f"{self.where} broke the connection: {exc}") from None

    def _lines(self, response: Any) -> Iterator[bytes]:
        while True:
            try:
                line = response.readline()
            except TimeoutError:
                raise RemoteServerError(
                    f"{self.where} stopped sending for {self.timeout:g} s in the middle of an "
                    "answer (timed out)"
                ) from None
            except OSError as exc:
                raise RemoteServerError(f"{self.where} broke the connection: {exc}") from None
            if not line:
                return
            yield line

    def _open(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        headers = {"Accept": "application/json, text/event-stream"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(
            self.root_url + path, data=data, headers=headers, method=method
        )
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc) from None
        except TimeoutError:
            raise RemoteServerError(
                f"{self.where} did not answer within {self.timeout:g} s (timed out)"
            ) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise RemoteServerError(
                    f"{self.where} did not answer within {self.timeout:g} s (timed out)"
                ) from None
            if isinstance(reason, ConnectionRefusedError):
                text = "connection refused (is the server running?)"
            else:
                text = str(getattr(reason, "strerror", None) or reason)
            raise RemoteServerError(f"cannot reach {self.where}: {text}") from None
        except (OSError, ValueError) as exc:  # reset connection, malformed status line
            raise RemoteServerError(f"cannot talk to {self.where}: {exc}") from None

    def _http_error(self, exc: urllib.error.HTTPError) -> RemoteServerError:
        try:
            raw = exc.read(2000)
        except OSError:
            raw = b""
        try:
            message = error_message(json.loads(raw))
        except ValueError:
            message = _snippet(raw) if raw else (exc.reason or "")
        finally:
            exc.close()
        if exc.code in (401, 403):
            message += " (set the server's key in the OPENAI_API_KEY environment variable)"
        return RemoteServerError(f"{self.where} refused the request (HTTP {exc.code}): {message}")

    def _json(self, raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            raise RemoteServerError(
                f"{self.where} answered something that is not JSON: {_snippet(raw)}"
            ) from None
