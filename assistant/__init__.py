"""Course Assistant: RAG over course documents, MCP tools, and a transparent GPT-2 engine."""

__version__ = "0.1.0"
__all__ = ["__version__"]
