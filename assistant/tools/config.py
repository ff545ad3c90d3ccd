"""MCP server configuration: Claude-Desktop-style ``mcp.json`` merged over our defaults.

The file users already know::

    {"mcpServers": {"weather": {"command": "uvx", "args": ["mcp-weather"], "env": {}},
                    "remote": {"url": "http://127.0.0.1:8931/mcp",
                               "headers": {"Authorization": "Bearer ${MY_TOKEN}"}}}}

A server has either a ``command`` (stdio) or a ``url`` (Streamable HTTP, optional ``headers``
whose values may name environment variables, see ``remote_config``). Our optional keys: per
server ``timeout_s`` / ``init_timeout_s`` / ``disabled``, and a top-level ``"assistant"``
object (``auto_approve``, ``require_approval``, ``call_timeout_s``, ``init_timeout_s``,
``max_result_chars``, ``max_calls_per_turn``). Entries replace the default server of the
same name; ``"disabled": true`` removes one.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.errors import SettingsError
from assistant.tools.remote_config import RemoteConfigError, check_url, expand_headers

if TYPE_CHECKING:
    from assistant.settings import Settings

CALCULATOR = "calculator"
FILE_LOOKUP = "file_lookup"
# Our servers' tools only read; they run without asking.
DEFAULT_AUTO_APPROVE: dict[str, tuple[str, ...]] = {
    CALCULATOR: ("evaluate",),
    FILE_LOOKUP: ("list_files", "read_file", "search_files", "file_info"),
}
_OUR_MODULES = {CALCULATOR: "mcp_servers.calculator", FILE_LOOKUP: "mcp_servers.file_lookup"}
_REPO_CORPUS = Path(__file__).resolve().parents[2] / "corpus"
_ROOT_NAME = re.compile(r"[\w][\w.+-]*")  # a file lookup root's name, as its server accepts
DEFAULT_MAX_CALLS_PER_TURN = 3  # tool calls one message may trigger (mcp.json can change it)
STDIO = "stdio"
STREAMABLE_HTTP = "streamable-http"


@dataclass(frozen=True)
class ServerConfig:
    """How to reach one MCP server: start ``command`` (stdio) or connect to ``url``
    (Streamable HTTP, sending ``headers``); timeouts of ``None`` use the ToolsConfig defaults."""

    name: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    init_timeout_s: float | None = None
    call_timeout_s: float | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # variables already expanded

    @property
    def transport(self) -> str:
        return STREAMABLE_HTTP if self.url is not None else STDIO


@dataclass
class ToolsConfig:
    """Every MCP server the assistant knows, with the policy for calling their tools."""

    servers: dict[str, ServerConfig] = field(default_factory=dict)
    init_timeout_s: float = 10.0
    call_timeout_s: float = 15.0
    # "server.tool" names (or "server.*") that run without approval.
    auto_approve: set[str] = field(default_factory=set)
    max_result_chars: int = 4000  # the prompt copy of a tool result is cut to this size
    max_calls_per_turn: int = DEFAULT_MAX_CALLS_PER_TURN

    def init_timeout(self, server: str) -> float:
        override = self.servers[server].init_timeout_s if server in self.servers else None
        return override if override is not None else self.init_timeout_s

    def call_timeout(self, server: str) -> float:
        override = self.servers[server].call_timeout_s if server in self.servers else None
        return override if override is not None else self.call_timeout_s

    def is_auto_approved(self, server: str, tool: str) -> bool:
        return f"{server}.{tool}" in self.auto_approve or f"{server}.*" in self.auto_approve


class _ServerEntry(BaseModel):
    # Other clients' keys (e.g. "type") are tolerated; ours are validated.
    model_config = ConfigDict(extra="ignore")

    command: str | None = Field(None, min_length=1)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: Path | None = None
    url: str | None = Field(None, min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    type: str | None = None  # other clients' transport hint; only "sse" is refused
    timeout_s: float | None = Field(None, gt=0, le=3600)
    init_timeout_s: float | None = Field(None, gt=0, le=600)
    disabled: bool = False

    @model_validator(mode="after")
    def _one_transport(self) -> _ServerEntry:
        if self.command is None and self.url is None:
            raise ValueError('needs "command" (a stdio server) or "url" (Streamable HTTP)')
        if self.command is not None and self.url is not None:
            raise ValueError('has both "command" and "url"; give one (stdio or Streamable HTTP)')
        if self.url is None and self.headers:
            raise ValueError('"headers" only apply to a server with a "url"')
        if self.type == "sse":
            raise ValueError('"type": "sse" (the old HTTP+SSE transport) is not supported')
        return self


class _DisabledEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")
    disabled: bool


class _AssistantOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_approve: list[str] = Field(default_factory=list)
    require_approval: list[str] = Field(default_factory=list)
    call_timeout_s: float | None = Field(None, gt=0, le=3600)
    init_timeout_s: float | None = Field(None, gt=0, le=600)
    max_result_chars: int | None = Field(None, ge=200, le=1_000_000)
    max_calls_per_turn: int | None = Field(None, ge=0, le=10)


def file_lookup_roots(documents: list[Path]) -> dict[str, Path]:
    """The folders the file lookup serves, by root name: every document folder (a document
    file's own folder), each once, in order; corpus/ when no documents are configured.

    With several roots, file lookup paths start with the root's name (``notes/intro.md``).
    """
    folders: list[Path] = []
    for entry in documents:
        path = Path(entry).expanduser()
        folder = path if path.is_dir() else path.parent if path.is_file() else None
        if folder is not None and folder.resolve() not in folders:
            folders.append(folder.resolve())
    if not folders:
        folders = [Path(documents[0]).expanduser().resolve().parent if documents else _REPO_CORPUS]
    named: dict[str, Path] = {}
    for folder in folders:
        base = re.sub(r"[^\w.+-]", "-", folder.name).lstrip(".+-") or "documents"
        name, number = base, 2
        while name in named:
            name, number = f"{base}-{number}", number + 1
        named[name] = folder
    return named


def file_lookup_root_args(roots: dict[str, Path]) -> tuple[str, ...]:
    """``--root DIR`` for one root (paths relative to it), ``--root NAME=DIR`` for each of
    several (the names the paths start with)."""
    if len(roots) == 1:
        return ("--root", str(next(iter(roots.values()))))
    return tuple(arg for name, folder in roots.items() for arg in ("--root", f"{name}={folder}"))


def served_roots(server: ServerConfig) -> list[tuple[str | None, str]] | None:
    """(name or None, folder) per ``--root`` our file lookup module runs with (none given:
    its default, the repository's corpus/); None for any other server."""
    if server.name != FILE_LOOKUP or not _runs_our_module(server):
        return None
    args, values = server.args, []
    for i, arg in enumerate(args):
        if arg == "--root" and i + 1 < len(args):
            values.append(args[i + 1])
        elif arg.startswith("--root="):
            values.append(arg.removeprefix("--root="))
    roots: list[tuple[str | None, str]] = []
    for value in values or [str(_REPO_CORPUS)]:
        name, equals, folder = value.partition("=")
        # the server's rule: NAME=DIR when NAME is one word, else the whole value is a folder
        named = bool(equals and folder and _ROOT_NAME.fullmatch(name))
        roots.append((name, folder) if named else (None, value))
    return roots


def default_servers(documents: list[Path]) -> dict[str, ServerConfig]:
    """Our calculator and file lookup, run with this interpreter."""
    root_args = file_lookup_root_args(file_lookup_roots(documents))
    return {
        CALCULATOR: ServerConfig(CALCULATOR, sys.executable, ("-m", _OUR_MODULES[CALCULATOR])),
        FILE_LOOKUP: ServerConfig(
            FILE_LOOKUP, sys.executable, ("-m", _OUR_MODULES[FILE_LOOKUP], *root_args)
        ),
    }


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SettingsError(f"cannot read MCP config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"MCP config {path}: expected a JSON object at the top level")
    return data


def _parse_server(name: str, raw: Any, path: Path) -> ServerConfig | None:
    if not name or "." in name or any(ch.isspace() for ch in name):
        raise SettingsError(f"MCP config {path}: server name {name!r} must be one word, no dots")
    try:
        disabled = isinstance(raw, dict) and raw.get("disabled") is True
        if disabled and "command" not in raw and "url" not in raw:
            _DisabledEntry.model_validate(raw)
            return None
        entry = _ServerEntry.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        # A whole-entry rule failing names the transport keys it is about.
        where = ".".join(str(p) for p in err["loc"]) or "command/url"
        message = err["msg"].removeprefix("Value error, ")
        raise SettingsError(f"MCP config {path}: server {name!r}: {where}: {message}") from exc
    if entry.disabled:
        return None
    if entry.url is not None:
        try:
            url, headers = check_url(entry.url), expand_headers(entry.headers)
        except RemoteConfigError as exc:
            raise SettingsError(f"MCP config {path}: server {name!r}: {exc}") from None
        return ServerConfig(
            name=name,
            url=url,
            headers=headers,
            init_timeout_s=entry.init_timeout_s,
            call_timeout_s=entry.timeout_s,
        )
    cwd = entry.cwd.expanduser() if entry.cwd is not None else None
    if cwd is not None and not cwd.is_absolute():
        cwd = (path.parent / cwd).resolve()  # relative to the config file, like other paths
    return ServerConfig(
        name=name,
        command=entry.command or "",
        args=tuple(entry.args),
        env=dict(entry.env),
        cwd=cwd,
        init_timeout_s=entry.init_timeout_s,
        call_timeout_s=entry.timeout_s,
    )


def _runs_our_module(server: ServerConfig) -> bool:
    module = _OUR_MODULES.get(server.name)
    return module is not None and server.url is None and module in server.args


def build_tools_config(data: dict[str, Any], documents: list[Path], path: Path) -> ToolsConfig:
    """Merge a parsed ``mcp.json`` document over the defaults (``path`` names it in errors)."""
    servers = default_servers(documents)
    raw_servers = data.get("mcpServers", {})
    if not isinstance(raw_servers, dict):
        raise SettingsError(f"MCP config {path}: 'mcpServers' must be an object")
    for name, raw in raw_servers.items():
        parsed = _parse_server(name, raw, path)
        if parsed is None:
            servers.pop(name, None)
        else:
            servers[name] = parsed
    try:
        options = _AssistantOptions.model_validate(data.get("assistant", {}))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "assistant"
        raise SettingsError(f"MCP config {path}: assistant.{where}: {err['msg']}") from exc

    # Default approvals only hold while the server still runs our read-only module.
    approved = {
        f"{server}.{tool}"
        for server, tools in DEFAULT_AUTO_APPROVE.items()
        if server in servers and _runs_our_module(servers[server])
        for tool in tools
    }
    approved |= set(options.auto_approve)
    approved -= set(options.require_approval)

    config = ToolsConfig(servers=servers, auto_approve=approved)
    for name in ("call_timeout_s", "init_timeout_s", "max_result_chars", "max_calls_per_turn"):
        value = getattr(options, name)
        if value is not None:
            setattr(config, name, value)
    return config


def load_tools_config(settings: Settings) -> ToolsConfig:
    """Read ``settings.mcp_config_file`` (absent → defaults only)."""
    path = settings.mcp_config_file
    return build_tools_config(_read_json(path), list(settings.documents), path)
