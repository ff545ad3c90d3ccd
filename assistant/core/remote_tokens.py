"""The tokens in a /v1/completions stream chunk, read from either logprobs dialect.

llama.cpp: ``logprobs.content = [{id, token, bytes, logprob, top_logprobs: [{id, token,
bytes, logprob}]}]`` (the chat API's shape). vLLM and OpenAI: ``logprobs = {tokens,
token_logprobs, top_logprobs: [{token: logprob}]}``, tokens spelled ``token_id:123`` when
asked with ``return_tokens_as_token_ids``. A chunk that fits neither is the server speaking
something else: a one-line RemoteServerError.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from assistant.core.openai_client import RemoteServerError

TOKEN_ID_PREFIX = "token_id:"


@dataclass(frozen=True)
class ServerAlternative:
    token_id: int | None  # None: the server named the token only by its text
    text: str | None  # None: the server gave only the id
    logprob: float


@dataclass(frozen=True)
class ServerToken:
    token_id: int | None
    piece: str | None  # the token's own text (partial characters as \x.. escapes)
    piece_bytes: bytes | None  # its bytes where the server sends them (llama.cpp)
    logprob: float
    top: tuple[ServerAlternative, ...]


def _bad(where: str, what: str) -> RemoteServerError:
    return RemoteServerError(f"{where} sent logprobs in a shape this client does not know: {what}")


def _float(value: Any, where: str) -> float:
    if value is None:
        return -math.inf
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(where, f"logprob {value!r}")
    return float(value)


def _id_and_text(name: str) -> tuple[int | None, str | None]:
    if name.startswith(TOKEN_ID_PREFIX):
        try:
            return int(name[len(TOKEN_ID_PREFIX) :]), None
        except ValueError:
            pass
    return None, name


def _bytes_text(raw: Any) -> tuple[bytes | None, str | None]:
    if isinstance(raw, list) and all(isinstance(b, int) and 0 <= b < 256 for b in raw):
        data = bytes(raw)
        return data, data.decode("utf-8", errors="backslashreplace")
    return None, None


def _llama_entry(entry: Any, where: str) -> tuple[int | None, str | None, bytes | None, float]:
    if not isinstance(entry, dict):
        raise _bad(where, f"entry {entry!r:.60}")
    token_id = entry.get("id")
    if token_id is not None and (isinstance(token_id, bool) or not isinstance(token_id, int)):
        raise _bad(where, f"token id {token_id!r}")
    data, text = _bytes_text(entry.get("bytes"))
    if text is None and isinstance(entry.get("token"), str):
        text = entry["token"]
    return token_id, text, data, _float(entry.get("logprob"), where)


def tokens_of_choice(choice: dict[str, Any], where: str) -> list[ServerToken]:
    """The chunk's tokens with their log-probabilities ([] when it carries none)."""
    logprobs = choice.get("logprobs")
    if logprobs is None:
        return []
    if not isinstance(logprobs, dict):
        raise _bad(where, f"logprobs {logprobs!r:.60}")
    if "content" in logprobs:  # llama.cpp
        content = logprobs["content"] or []
        if not isinstance(content, list):
            raise _bad(where, "logprobs.content is not a list")
        out = []
        for entry in content:
            token_id, text, data, logprob = _llama_entry(entry, where)
            top = []
            for alt in entry.get("top_logprobs") or []:
                alt_id, alt_text, _, alt_lp = _llama_entry(alt, where)
                top.append(ServerAlternative(alt_id, alt_text, alt_lp))
            out.append(ServerToken(token_id, text, data, logprob, tuple(top)))
        return out
    if "tokens" in logprobs:  # the OpenAI legacy shape (vLLM)
        names = logprobs.get("tokens") or []
        values = logprobs.get("token_logprobs") or []
        tops = logprobs.get("top_logprobs") or [None] * len(names)
        if not (isinstance(names, list) and isinstance(values, list) and isinstance(tops, list)):
            raise _bad(where, "tokens/token_logprobs/top_logprobs are not lists")
        if not len(names) == len(values) == len(tops):
            raise _bad(where, "tokens, token_logprobs and top_logprobs differ in length")
        out = []
        for name, value, top_map in zip(names, values, tops, strict=True):
            if not isinstance(name, str):
                raise _bad(where, f"token {name!r:.60}")
            token_id, text = _id_and_text(name)
            top = []
            if isinstance(top_map, dict):
                for alt_name, alt_lp in top_map.items():
                    alt_id, alt_text = _id_and_text(str(alt_name))
                    top.append(ServerAlternative(alt_id, alt_text, _float(alt_lp, where)))
                top.sort(key=lambda a: -a.logprob)
            elif top_map is not None:
                raise _bad(where, f"top_logprobs entry {top_map!r:.60}")
            out.append(ServerToken(token_id, text, None, _float(value, where), tuple(top)))
        return out
    raise _bad(where, f"keys {sorted(logprobs)!r:.80}")


def choice_of(event: dict[str, Any], where: str) -> dict[str, Any]:
    """The event's first choice (a completions stream event has exactly one per prompt; a
    usage-only event, which vLLM sends last when asked for usage, has none: an empty one)."""
    choices = event.get("choices")
    if choices == [] and "usage" in event:
        return {}
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise RemoteServerError(f"{where} sent an event without choices: {str(event)[:80]!r}")
    return choices[0]
