"""MCP tool servers shipped with the assistant: a calculator and a root-confined file lookup.

Each runs as ``python -m mcp_servers.<name>`` and speaks MCP over stdio, or over Streamable
HTTP with ``--transport streamable-http`` (``transport``); the logic lives in pure modules
(``calculator.evaluator``, ``file_lookup.sandbox``) and the servers are thin.
"""

from __future__ import annotations

from importlib import metadata


def package_version() -> str:
    """The installed course-assistant version, reported to MCP clients as the server version."""
    try:
        return metadata.version("course-assistant")
    except metadata.PackageNotFoundError:
        return "0.0.0"
