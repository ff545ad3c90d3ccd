"""Tool commands: ``assistant tools list|call|log`` over the configured MCP servers."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from assistant.cli.common import emit_json, notice
from assistant.errors import ToolCallError, UsageError
from assistant.settings import Settings
from assistant.tools.config import ServerConfig, served_roots

if TYPE_CHECKING:
    from assistant.tools.client import ToolHub
    from assistant.tools.plan import PlannedCall


def register(sub: Any) -> None:
    tools = sub.add_parser("tools", help="list and call MCP tools (calculator, file lookup, ...)")
    tools_sub = tools.add_subparsers(dest="tools_command", metavar="SUBCOMMAND", required=True)

    p = tools_sub.add_parser("list", help="start the configured servers and list their tools")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_list)

    p = tools_sub.add_parser("call", help="call one tool: assistant tools call SERVER.TOOL")
    p.add_argument("name", metavar="SERVER.TOOL", help="e.g. calculator.evaluate")
    p.add_argument("--args", default="{}", help="arguments as a JSON object, e.g. '{\"x\": 1}'")
    p.add_argument("--timeout", type=float, default=None, help="seconds (default: configured)")
    p.add_argument("--yes", action="store_true", help="approve tools that need approval")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_call)

    p = tools_sub.add_parser("log", help="recent tool calls from the call log")
    p.add_argument("-n", type=int, default=20, help="how many (newest first)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_log)


def _hub(settings: Settings) -> ToolHub:
    from assistant.tools.client import ToolHub

    return ToolHub.from_settings(settings)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    with _hub(settings) as hub:
        errors = hub.start()
        tools = hub.list_tools()
        status = hub.server_status()
        servers = {
            name: {
                "status": status[name],
                "transport": cfg.transport,
                **({"url": cfg.url} if cfg.url else {"command": [cfg.command, *cfg.args]}),
                "log": str(hub.log_path(name)),
                **_roots_entry(cfg),
            }
            for name, cfg in hub.config.servers.items()
        }
    if args.json:
        emit_json(
            {
                "config_file": str(settings.mcp_config_file),
                "servers": servers,
                "tools": [{**asdict(t), "name": t.qualified_name, "tool": t.name} for t in tools],
            }
        )
        return 0
    for line in errors:
        notice(f"warning: {line}")
    for name, info in servers.items():
        print(f"{name}: {info['status']}")
        if "url" in info:
            print(f"  url: {info['url']}  (Streamable HTTP)")
        for line in _roots_lines(info.get("roots")):
            print(f"  {line}")
        for t in (t for t in tools if t.server == name):
            summary = t.description.splitlines()[0] if t.description else ""
            approval = "auto" if t.auto_approved else "asks"
            print(f"  {_signature(t.qualified_name, t.input_schema)}  [{approval}]")
            if summary:
                print(f"      {summary}")
    return 0


def _roots_entry(server: ServerConfig) -> dict[str, Any]:
    """``{"roots": [{"name", "path"}, ...]}`` for our file lookup, nothing for other servers."""
    roots = served_roots(server)
    if roots is None:
        return {}
    return {"roots": [{"name": name, "path": path} for name, path in roots]}


def _roots_lines(roots: list[dict[str, Any]] | None) -> list[str]:
    """The folders a file lookup serves, and how its paths name them."""
    if not roots:
        return []
    if len(roots) == 1:
        return [f"root: {roots[0]['path']}  (paths are relative to it)"]
    # Unnamed roots are named by the server after their folder.
    names = [root["name"] or "(folder name)" for root in roots]
    width = max(len(name) for name in names)
    lines = ["roots (each path starts with its root's name):"]
    lines += [f"  {name:<{width}}  {root['path']}" for name, root in zip(names, roots, strict=True)]
    return lines


def _signature(name: str, schema: dict[str, Any]) -> str:
    """``server.tool(required: type, optional?: type)`` from a tool's input schema."""
    required = set(schema.get("required", []))
    params = []
    for param, spec in (schema.get("properties") or {}).items():
        kind = spec.get("type", "") if isinstance(spec, dict) else ""
        if not kind and isinstance(spec, dict) and "anyOf" in spec:
            kind = "|".join(str(option.get("type", "?")) for option in spec["anyOf"])
        mark = "" if param in required else "?"
        params.append(f"{param}{mark}: {kind}" if kind else f"{param}{mark}")
    return f"{name}({', '.join(params)})"


def _parse_arguments(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--args is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(value, dict):
        raise UsageError('--args must be a JSON object, e.g. \'{"expression": "1+1"}\'')
    return value


def _ask_on_terminal(call: PlannedCall) -> bool:
    """Interactive approval; without a terminal the answer is no (use --yes)."""
    if not sys.stdin.isatty():
        return False
    shown = json.dumps(call.arguments, ensure_ascii=False)
    answer = input(f"allow {call.name} {shown}? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def cmd_call(args: argparse.Namespace, settings: Settings) -> int:
    server, dot, tool = args.name.partition(".")
    if not server or not dot or not tool:
        raise UsageError(f"expected SERVER.TOOL, e.g. calculator.evaluate (got {args.name!r})")
    arguments = _parse_arguments(args.args)
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    with _hub(settings) as hub:
        hub.approve_all = args.yes
        result = hub.call(server, tool, arguments, approve=_ask_on_terminal, timeout_s=args.timeout)
    if args.json:
        emit_json({"name": args.name, "arguments": arguments, **asdict(result)})
    elif result.ok:
        sys.stdout.write(result.text if result.text.endswith("\n") else result.text + "\n")
    if not result.ok:
        message = result.error or "the tool failed"
        if not result.approved:
            message += " (pass --yes to approve)"
        if args.json:
            notice(f"error: {message.splitlines()[0]}")
            return ToolCallError.exit_code
        raise ToolCallError(message.splitlines()[0])
    return 0


def cmd_log(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.tools.calllog import CallLog

    records = CallLog(settings.data_dir / "tool_calls.sqlite3").recent(max(1, args.n))
    if args.json:
        emit_json({"calls": [asdict(r) for r in records]})
        return 0
    for r in records:
        shown = json.dumps(r.arguments, ensure_ascii=False)
        print(f"{r.started_at}  {r.server}.{r.tool} {shown}  {r.outcome} {r.duration_s:.3f}s")
    return 0
