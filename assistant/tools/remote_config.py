"""The ``url`` and ``headers`` of an MCP server reached over Streamable HTTP.

Header values may name environment variables, so a token need not sit in ``mcp.json``:
``"Authorization": "Bearer ${MY_TOKEN}"`` (``${env:MY_TOKEN}``, VS Code's spelling, means the
same). The variables are read when the config is loaded; a missing one is a config error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

_VARIABLE = re.compile(r"\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)\}")
_ANY_PLACEHOLDER = re.compile(r"\$\{[^}]*\}?")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP token (RFC 9110)


class RemoteConfigError(ValueError):
    """A bad url or header; the message says which and why (one line)."""


def check_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host, else RemoteConfigError."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise RemoteConfigError(f"url {url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RemoteConfigError(f"url {url!r} must be an http:// or https:// address")
    return url


def expand_env(value: str, environ: Mapping[str, str] | None = None) -> str:
    """``value`` with each ``${VAR}`` / ``${env:VAR}`` replaced by that variable."""
    env = os.environ if environ is None else environ

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise RemoteConfigError(f"environment variable {name} is not set")
        return env[name]

    # A placeholder that is not one of the two forms is a mistake, not literal text.
    for placeholder in _ANY_PLACEHOLDER.findall(_VARIABLE.sub("", value)):
        raise RemoteConfigError(
            f"{placeholder!r} is not a variable reference (write ${{NAME}} or ${{env:NAME}})"
        )
    return _VARIABLE.sub(substitute, value)


def expand_headers(
    headers: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The headers to send, variables expanded; names must be HTTP tokens."""
    expanded = {}
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise RemoteConfigError(f"header name {name!r} is not a valid HTTP header name")
        try:
            text = expand_env(value, environ)
        except RemoteConfigError as exc:
            raise RemoteConfigError(f"header {name!r}: {exc}") from None
        if any(ch in text for ch in "\r\n\0"):
            raise RemoteConfigError(f"header {name!r}: the value contains a line break")
        expanded[name] = text
    return expanded
