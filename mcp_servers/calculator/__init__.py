"""Calculator MCP server: ``python -m mcp_servers.calculator``."""
