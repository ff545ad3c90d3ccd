"""File lookup MCP server: ``python -m mcp_servers.file_lookup --root DIR``."""
