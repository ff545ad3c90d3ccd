"""The assistant's document index as read-only MCP tools (search, read_passage) for any client."""
