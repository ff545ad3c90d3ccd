"""MCP wiring for the file lookup: four read-only tools (stdio or HTTP), confined to its roots.

All path handling lives in the sandbox modules; this module declares the tools and answers
each call twice: structured content for programs (the output schema below) and a readable
text content for people (``readable``). Every ``SandboxError`` becomes a tool error
(``isError: true``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel

from mcp_servers import package_version
from mcp_servers.file_lookup.errors import SandboxError
from mcp_servers.file_lookup.readable import (
    file_content_text,
    file_info_text,
    listing_text,
    search_text,
)
from mcp_servers.file_lookup.records import DEFAULT_LIMITS, SandboxLimits
from mcp_servers.file_lookup.roots import RootSet, name_roots, parse_root_spec
from mcp_servers.logging_setup import configure_stderr_logging
from mcp_servers.tool_result import tool_result
from mcp_servers.transport import add_transport_arguments, serve

SERVER_NAME = "file-lookup"
# The course notes shipped with the repository: <repo>/corpus.
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "corpus"

_READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)


class EntryModel(BaseModel):
    path: str
    type: str
    size_bytes: int | None


class ListingModel(BaseModel):
    path: str
    entries: list[EntryModel]
    truncated: bool
    note: str | None = None


class FileContentModel(BaseModel):
    path: str
    start_line: int
    end_line: int
    total_lines: int
    content: str
    truncated: bool
    size_bytes: int


class SearchMatchModel(BaseModel):
    path: str
    line: int
    text: str


class SearchResultModel(BaseModel):
    query: str
    matches: list[SearchMatchModel]
    truncated: bool
    files_searched: int
    files_skipped: int
    note: str | None = None


class FileInfoModel(BaseModel):
    path: str
    type: str
    size_bytes: int
    modified: str
    is_binary: bool | None = None
    line_count: int | None = None


def build_server(
    root: str | Path | Sequence[tuple[str, str | Path]] = DEFAULT_ROOT,
    limits: SandboxLimits = DEFAULT_LIMITS,
) -> MCPServer:
    """Return the file lookup MCP server (not started) for one root directory, or for
    several ``(name, directory)`` pairs (see ``roots``).

    Raises ``SandboxError`` when a root is not a readable directory.
    """
    named = [("root", root)] if isinstance(root, str | Path) else list(root)
    roots = RootSet(named, limits)
    server = MCPServer(
        name=SERVER_NAME, version=package_version(), instructions=_instructions(roots)
    )

    @server.tool(annotations=_READ_ONLY)
    def list_files(
        path: str = ".", pattern: str = "*", recursive: bool = False
    ) -> Annotated[CallToolResult, ListingModel]:
        """List files and directories under `path` (relative to the root).

        `pattern` is a case-insensitive glob matched against each name (or against the
        relative path when it contains '/'); `recursive` walks subdirectories. Symlinks are
        listed as such and never followed. Long listings are cut and marked `truncated`.
        With several roots, paths start with a root's name and "." lists the roots.
        """
        return tool_result(
            ListingModel, listing_text, SandboxError, roots.list_files, path, pattern, recursive
        )

    @server.tool(annotations=_READ_ONLY)
    def read_file(
        path: str, start_line: int = 1, end_line: int | None = None
    ) -> Annotated[CallToolResult, FileContentModel]:
        """Read a text file under the root, lines numbered from 1.

        Returns lines `start_line`..`end_line` (inclusive; to the end when omitted), each
        prefixed with its number and a tab. Output is capped in size (`truncated` says so);
        continue with a later `start_line`. Binary and very large files are refused.
        """
        return tool_result(
            FileContentModel,
            file_content_text,
            SandboxError,
            roots.read_file,
            path,
            start_line,
            end_line,
        )

    @server.tool(annotations=_READ_ONLY)
    def search_files(
        query: str, glob: str = "*", max_results: int = 50
    ) -> Annotated[CallToolResult, SearchResultModel]:
        """Find lines containing `query` in text files under the root (every root).

        The query is literal text (no regex, no wildcards), compared case-insensitively.
        `glob` limits the files searched (e.g. "*.md"). Returns path, line number and line.
        """
        return tool_result(
            SearchResultModel,
            search_text,
            SandboxError,
            roots.search_files,
            query,
            glob,
            max_results,
        )

    @server.tool(annotations=_READ_ONLY)
    def file_info(path: str) -> Annotated[CallToolResult, FileInfoModel]:
        """Type, size and modification time of a file or directory under the root; for
        text files also the number of lines."""
        return tool_result(FileInfoModel, file_info_text, SandboxError, roots.file_info, path)

    return server


def _instructions(roots: RootSet) -> str:
    if not roots.several:
        return (
            "Read-only access to the files under one root directory. Paths are relative to "
            "that root; use list_files to discover them and search_files to find text."
        )
    names = ", ".join(roots.roots)
    return (
        f"Read-only access to the files under {len(roots.roots)} root directories: {names}. "
        "Every path starts with a root's name (e.g. 'NAME/notes.md'); list_files on '.' "
        "lists the roots, and search_files searches all of them."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: ``assistant-file-lookup`` / ``python -m mcp_servers.file_lookup``."""
    parser = argparse.ArgumentParser(
        prog="assistant-file-lookup",
        description=(
            "MCP file lookup server (read-only, confined to its roots) on stdin/stdout by "
            "default, or over Streamable HTTP."
        ),
    )
    parser.add_argument(
        "--root",
        action="append",
        metavar="[NAME=]DIR",
        help=(
            "directory the tools may read; repeat for several, each then named by NAME or "
            "its folder name (default: the repository's corpus/)"
        ),
    )
    parser.add_argument(
        "--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    add_transport_arguments(parser)
    options = parser.parse_args(argv)
    configure_stderr_logging(options.log_level)
    specs = [parse_root_spec(spec) for spec in options.root or [str(DEFAULT_ROOT)]]
    for _, directory in specs:
        if not Path(directory).is_dir():
            print(f"error: root directory {directory!r} does not exist", file=sys.stderr)
            return 2
    try:
        server = build_server(name_roots(specs))
    except SandboxError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return serve(server, options)
