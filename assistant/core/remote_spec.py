"""A remote model named in settings: ``openai:<base_url>#<model>``.

``base_url`` is the server's OpenAI base URL (``http://host:8000/v1``; a URL without ``/v1``
means the same server). ``model`` is the name the server serves (vLLM: the HF id or
``--served-model-name``; llama.cpp: ``--alias``); empty means the server's first model. The
API key, where the server wants one, comes from the environment variable ``OPENAI_API_KEY``
(what OpenAI clients read), so no key is ever written into a config file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from assistant.errors import UsageError

REMOTE_PREFIX = "openai:"
# Said once when a remote model is chosen (chat notice, CLI note) and by a stream that skipped it.
GROUNDING_NOTICE = "grounding is local-only with a remote model: answers are the model's own"
API_KEY_ENV = "OPENAI_API_KEY"


@dataclass(frozen=True)
class RemoteSpec:
    root_url: str  # scheme://host:port[/path] without the trailing /v1
    model: str  # "" = the server's first model
    api_key_env: str = API_KEY_ENV

    @property
    def api_url(self) -> str:
        return self.root_url + "/v1"

    @property
    def display_name(self) -> str:
        return f"{REMOTE_PREFIX}{self.api_url}#{self.model}" if self.model else self.api_url

    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) or None


def is_remote_model(name: str | None) -> bool:
    return bool(name) and str(name).startswith(REMOTE_PREFIX)


def parse_remote_model(name: str) -> RemoteSpec:
    """The spec in ``openai:<base_url>#<model>``; a malformed one is a one-line UsageError."""
    if not is_remote_model(name):
        raise UsageError(
            f"not a remote model name (want {REMOTE_PREFIX}<base_url>#<model>): {name!r}"
        )
    rest = name[len(REMOTE_PREFIX) :]
    url, _, model = rest.partition("#")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"invalid remote model {name!r}: the base URL must be http(s)://host[:port][/v1] "
            f"(e.g. {REMOTE_PREFIX}http://127.0.0.1:8000/v1#gpt2-xl)"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise UsageError(f"invalid remote model {name!r}: bad port in the base URL") from None
    if parts.query or parts.fragment:
        raise UsageError(f"invalid remote model {name!r}: the base URL takes no query")
    root = url.rstrip("/")
    if root.endswith("/v1"):
        root = root[: -len("/v1")]
    return RemoteSpec(root_url=root, model=model.strip())


def is_remote_engine(engine: object) -> bool:
    """Whether ``engine`` decodes on a model server (RemoteEngine.is_remote; no import of it)."""
    return bool(getattr(type(engine), "is_remote", False))
