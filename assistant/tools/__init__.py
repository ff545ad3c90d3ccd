"""MCP tools: server config, the ToolHub client, and the router that plans calls."""

from assistant.tools.client import ToolHub
from assistant.tools.config import ServerConfig, ToolsConfig, load_tools_config
from assistant.tools.results import ToolInfo, ToolResult
from assistant.tools.router import route

__all__ = [
    "ServerConfig",
    "ToolHub",
    "ToolInfo",
    "ToolResult",
    "ToolsConfig",
    "load_tools_config",
    "route",
]
