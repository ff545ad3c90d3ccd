"""MCP wiring for the course search: two read-only tools over the assistant's document index.

The searching lives in ``course_index``; this module declares the tools and answers each call
twice: structured content for programs (the output schemas below) and readable text for
people (``readable``). Every ``CourseSearchError`` becomes a tool error (``isError: true``),
so a missing or mismatched index is reported at call time, not as a server that will not
start.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from assistant.errors import SettingsError
from assistant.rag.retriever import MODES
from assistant.settings import Settings, load_settings
from mcp_servers import package_version
from mcp_servers.course_search.course_index import CourseIndex
from mcp_servers.course_search.errors import CourseSearchError
from mcp_servers.course_search.readable import passage_text, search_text
from mcp_servers.course_search.records import MAX_K
from mcp_servers.logging_setup import configure_stderr_logging
from mcp_servers.tool_result import tool_result
from mcp_servers.transport import add_transport_arguments, serve

SERVER_NAME = "course-search"
INSTRUCTIONS = (
    "Read-only search of the course documents indexed by Course Assistant. Use search to "
    "find passages (each names its source as 'folder/file:start-end'), then read_passage "
    "with a hit's source for its full text."
)

_READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
# Bounds shown to clients in the input schema only: the search checks them itself, so a bad
# value gets its one-line refusal rather than a validation report.
_K_SCHEMA = Field(
    description="how many passages", json_schema_extra={"minimum": 1, "maximum": MAX_K}
)
_MODE_SCHEMA = Field(description="how to rank", json_schema_extra={"enum": list(MODES)})


class ScoresModel(BaseModel):
    fused: float | None
    dense: float | None
    bm25: float | None


class HitModel(BaseModel):
    source: str
    path: str
    start_line: int
    end_line: int
    page: int | None
    scores: ScoresModel
    text: str
    truncated: bool


class SearchResultModel(BaseModel):
    query: str
    mode: str
    hits: list[HitModel]


class PassageModel(BaseModel):
    source: str
    path: str
    start_line: int
    end_line: int
    page: int | None
    heading: str
    text: str
    truncated: bool


def build_server(settings: Settings) -> MCPServer:
    """The course search MCP server (not started) over ``settings.index_path``, embedding
    queries with ``settings.embed_model``. Nothing is opened until the first call."""
    index = CourseIndex(settings)
    server = MCPServer(name=SERVER_NAME, version=package_version(), instructions=INSTRUCTIONS)
    modes = ", ".join(MODES)

    @server.tool(annotations=_READ_ONLY, description=_search_description(modes))
    def search(
        query: Annotated[str, Field(description="what to look for, in words")],
        k: Annotated[int, _K_SCHEMA] = 5,
        mode: Annotated[str, _MODE_SCHEMA] = "fused",
    ) -> Annotated[CallToolResult, SearchResultModel]:
        return tool_result(
            SearchResultModel, search_text, CourseSearchError, index.search, query, k, mode
        )

    @server.tool(annotations=_READ_ONLY)
    def read_passage(source: str) -> Annotated[CallToolResult, PassageModel]:
        """The full text of one indexed passage, by the `source` a search hit gave
        (e.g. "corpus/decoding.md:29-31"), as stored in the index, with its heading and
        page. A range inside a passage returns that passage."""
        return tool_result(
            PassageModel, passage_text, CourseSearchError, index.read_passage, source
        )

    return server


def _search_description(modes: str) -> str:
    return (
        "Find the passages of the course documents that best match `query`.\n\n"
        f"Returns the top `k` (1-{MAX_K}). `mode` is one of {modes}: dense = meaning "
        "(embeddings), lexical = exact words (BM25), fused = both (reciprocal rank fusion; the "
        "default). Each hit has its source 'folder/file:start-end' (pass it to read_passage), "
        "the document's path, lines, page (PDFs), scores and text (long passages cut; "
        "`truncated` says so)."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: ``assistant-course-search``, ``python -m mcp_servers.course_search``."""
    parser = argparse.ArgumentParser(
        prog="assistant-course-search",
        description=(
            "MCP server searching Course Assistant's document index (read-only; stdin/stdout "
            "by default, or Streamable HTTP)."
        ),
    )
    parser.add_argument(
        "--index",
        type=Path,
        metavar="DIR",
        help="index directory (default: the assistant's, from its settings)",
    )
    parser.add_argument(
        "--embed-model",
        metavar="NAME",
        help="embedding model for queries; must be the one the index was built with "
        "(default: the assistant's setting)",
    )
    parser.add_argument(
        "--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    add_transport_arguments(parser)
    options = parser.parse_args(argv)
    configure_stderr_logging(options.log_level)
    try:
        settings = load_settings({"index_dir": options.index, "embed_model": options.embed_model})
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if options.index is not None and options.index.exists() and not options.index.is_dir():
        print(f"error: --index {str(options.index)!r} is not a directory", file=sys.stderr)
        return 2
    return serve(build_server(settings), options)
