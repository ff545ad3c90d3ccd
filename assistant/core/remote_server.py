"""What a remote model server is (llama.cpp's or another OpenAI-compatible one), the model it
serves, its context, and its tokenizer over HTTP (``/tokenize``, ``/detokenize``).

Counting tokens with the server's own tokenizer keeps prompt budgets exact for whatever model
it serves, with nothing downloaded here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from assistant.core.openai_client import OpenAIClient, RemoteServerError
from assistant.core.remote_params import ServerKind
from assistant.core.remote_spec import RemoteSpec
from assistant.core.tokens import byte_decoder
from assistant.errors import UsageError

DEFAULT_CONTEXT = 1024  # GPT-2's, when a server does not say


@dataclass(frozen=True)
class ServerInfo:
    kind: ServerKind
    model: str  # the name to send ("" for a llama.cpp server that serves one model)
    context_length: int
    eos_token_id: int | None
    bos_token_id: int | None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _model_ids(listing: Any, where: str) -> list[dict[str, Any]]:
    data = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(data, list) or not all(isinstance(m, dict) and "id" in m for m in data):
        raise RemoteServerError(f"{where} answered /v1/models without a model list")
    return data


def probe_server(client: OpenAIClient, spec: RemoteSpec) -> ServerInfo:
    """Ask the server what it serves; a dead or foreign server is a RemoteServerError."""
    models = _model_ids(client.get_json("/v1/models"), client.where)
    if not models:
        raise RemoteServerError(f"{client.where} serves no model")
    ids = [str(m["id"]) for m in models]
    chosen = models[0]
    if spec.model:
        matching = [m for m in models if str(m["id"]) == spec.model]
        chosen = matching[0] if matching else chosen
    props = _llama_props(client)
    if props is not None:  # llama.cpp serves one model and ignores the name sent
        settings = props.get("default_generation_settings") or {}
        meta = chosen.get("meta") or {}
        context = (
            _int(settings.get("n_ctx")) or _int(props.get("n_ctx")) or _int(meta.get("n_ctx_train"))
        )
        info = ServerInfo("llama.cpp", str(chosen["id"]), context or DEFAULT_CONTEXT, None, None)
        tokenizer = ServerTokenizer(client, info)
        return ServerInfo(
            "llama.cpp",
            info.model,
            info.context_length,
            _special_id(tokenizer, props.get("eos_token")),
            _special_id(tokenizer, props.get("bos_token")),
        )
    if spec.model and spec.model not in ids:
        raise UsageError(
            f"{client.where} does not serve {spec.model!r}; it serves: {', '.join(ids)[:200]}"
        )
    context = _int(chosen.get("max_model_len")) or DEFAULT_CONTEXT
    info = ServerInfo("openai", str(chosen["id"]), context, None, None)
    eos = _special_id(ServerTokenizer(client, info), "<|endoftext|>")
    return ServerInfo("openai", info.model, context, eos, eos)


def _llama_props(client: OpenAIClient) -> dict[str, Any] | None:
    """llama.cpp's /props (its own endpoint), or None for a server without one."""
    try:
        props = client.get_json("/props")
    except RemoteServerError as exc:
        if "HTTP 404" in str(exc) or "HTTP 405" in str(exc):
            return None
        raise
    if isinstance(props, dict) and "default_generation_settings" in props:
        return props
    return None


def _special_id(tokenizer: ServerTokenizer, text: Any) -> int | None:
    if not isinstance(text, str) or not text:
        return None
    ids = tokenizer.encode(text, special=True)
    return ids[0] if len(ids) == 1 else None


class ServerTokenizer:
    """The served model's tokenizer, the calls our code makes of an HF tokenizer."""

    def __init__(self, client: OpenAIClient, info: ServerInfo) -> None:
        self.client = client
        self.info = info
        self.eos_token_id = info.eos_token_id
        self.bos_token_id = info.bos_token_id
        # Each token's bytes, as llama.cpp's /tokenize pieces and the stream report them: the
        # byte-level spelling (convert_ids_to_tokens) of tokens holding part of a character.
        self.token_bytes: dict[int, bytes] = {}

    def encode(
        self, text: str, add_special_tokens: bool = False, *, special: bool = True
    ) -> list[int]:
        if self.info.kind == "llama.cpp":
            body: dict[str, Any] = {
                "content": text,
                "add_special": add_special_tokens,
                "parse_special": special,  # HF tokenizers split out special tokens too
                "with_pieces": True,
            }
        else:
            body = {
                "model": self.info.model,
                "prompt": text,
                "add_special_tokens": add_special_tokens,
            }
        answer = self.client.post_json("/tokenize", body)
        tokens = answer.get("tokens") if isinstance(answer, dict) else None
        if not isinstance(tokens, list):
            raise RemoteServerError(f"{self.client.where} answered /tokenize without token ids")
        return [self._token_id(t) for t in tokens]

    @property
    def all_special_ids(self) -> list[int]:
        return sorted({i for i in (self.eos_token_id, self.bos_token_id) if i is not None})

    def _token_id(self, entry: Any) -> int:
        """An id from /tokenize: a bare int, or llama.cpp's ``{"id", "piece"}`` where the
        piece is text, or a byte list when it is part of a character."""
        if isinstance(entry, dict):
            piece = entry.get("piece")
            entry = entry.get("id")
            if isinstance(entry, int) and isinstance(piece, str):
                self.token_bytes.setdefault(entry, piece.encode("utf-8"))
            elif (
                isinstance(entry, int)
                and isinstance(piece, list)
                and all(isinstance(b, int) and 0 <= b < 256 for b in piece)
            ):
                self.token_bytes.setdefault(entry, bytes(piece))
        if not isinstance(entry, int) or isinstance(entry, bool):
            raise RemoteServerError(f"{self.client.where} answered /tokenize without token ids")
        return entry

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True, **_: Any) -> str:
        ids = [int(i) for i in ids]
        if skip_special_tokens:
            ids = [i for i in ids if i not in (self.eos_token_id, self.bos_token_id)]
        if not ids:
            return ""
        if self.info.kind == "llama.cpp":
            answer = self.client.post_json("/detokenize", {"tokens": ids})
            text = answer.get("content") if isinstance(answer, dict) else None
        else:
            body = {"model": self.info.model, "tokens": ids}
            answer = self.client.post_json("/detokenize", body)
            text = answer.get("prompt") if isinstance(answer, dict) else None
        if not isinstance(text, str):
            raise RemoteServerError(f"{self.client.where} answered /detokenize without text")
        return text

    def convert_ids_to_tokens(self, token_id: int) -> str:
        """GPT-2's byte-level spelling where the token's bytes are known, else its text."""
        data = self.token_bytes.get(token_id)
        if data is None:
            return self.decode([token_id], skip_special_tokens=False)
        return "".join(byte_encoder()[b] for b in data)


@lru_cache(maxsize=1)
def byte_encoder() -> dict[int, str]:
    return {b: ch for ch, b in byte_decoder().items()}
