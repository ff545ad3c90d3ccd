"""MCP tools: server config, the ToolHub client, and the router that plans calls.

Attributes load lazily (PEP 562): the chat's events import ``assistant.tools.plan`` for the
PlannedCall record, which must not pull in the MCP client (anyio, mcp) at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.tools.client import ToolHub
    from assistant.tools.config import ServerConfig, ToolsConfig, load_tools_config
    from assistant.tools.plan import PlannedCall
    from assistant.tools.results import ToolInfo, ToolResult
    from assistant.tools.router import Router, route

_WHERE = {
    "PlannedCall": "plan",
    "ServerConfig": "config",
    "ToolHub": "client",
    "ToolInfo": "results",
    "ToolResult": "results",
    "ToolsConfig": "config",
    "load_tools_config": "config",
    "Router": "router",
    "route": "router",
}

__all__ = [
    "PlannedCall",
    "Router",
    "ServerConfig",
    "ToolHub",
    "ToolInfo",
    "ToolResult",
    "ToolsConfig",
    "load_tools_config",
    "route",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'assistant.tools' has no attribute {name!r}")
    return getattr(importlib.import_module(f"assistant.tools.{module}"), name)
