"""What the hub hands back: tool descriptions and call results (plain frozen records).

A result's ``text`` is shown to the user verbatim; ``prompt_text`` is the size-capped copy the
model sees, so one huge tool output cannot crowd the course passages out of the prompt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mcp.types import (
    AudioContent,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)


@dataclass(frozen=True)
class ToolInfo:
    server: str
    name: str
    description: str
    input_schema: dict[str, Any] = field(default_factory=dict)
    auto_approved: bool = False

    @property
    def qualified_name(self) -> str:
        return f"{self.server}.{self.name}"


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    text: str  # full text for the user, verbatim (or the error message)
    prompt_text: str  # size-capped copy for the prompt
    truncated: bool = False  # prompt_text is shorter than text
    structured: dict[str, Any] | None = None
    duration_s: float = 0.0
    error: str | None = None
    approved: bool = True


def cap_text(text: str, max_chars: int) -> tuple[str, bool]:
    """Cut ``text`` to at most ``max_chars`` characters, with a marker saying so."""
    if len(text) <= max_chars:
        return text, False
    marker = f"\n[... cut: {len(text) - max_chars:,} of {len(text):,} characters omitted]"
    keep = max(0, max_chars - len(marker))
    # Prefer a line boundary when one is close, so the model does not see half a line.
    newline = text.rfind("\n", 0, keep)
    if newline >= keep * 0.8:
        keep = newline
    return text[:keep] + marker, True


def content_text(result: CallToolResult) -> str:
    """The text of a tool result: its content blocks, one after another."""
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, TextContent):
            parts.append(block.text)
        elif isinstance(block, ImageContent | AudioContent):
            kind = "image" if isinstance(block, ImageContent) else "audio"
            parts.append(f"[{kind}: {block.mime_type}, {len(block.data) * 3 // 4:,} bytes]")
        elif isinstance(block, EmbeddedResource):
            resource = block.resource
            if isinstance(resource, TextResourceContents):
                parts.append(resource.text)
            else:
                parts.append(f"[binary resource: {resource.uri}]")
        elif isinstance(block, ResourceLink):
            parts.append(f"[resource: {block.uri}]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)


def success(
    result: CallToolResult, duration_s: float, max_chars: int, *, approved: bool = True
) -> ToolResult:
    """Turn an MCP result (including ``isError`` ones) into a ToolResult."""
    text = content_text(result)
    prompt_text, truncated = cap_text(text, max_chars)
    structured = result.structured_content if isinstance(result.structured_content, dict) else None
    error = None
    if result.is_error:
        error = (text.strip().splitlines() or ["the tool reported an error"])[0]
    return ToolResult(
        ok=not result.is_error,
        text=text,
        prompt_text=prompt_text,
        truncated=truncated,
        structured=structured,
        duration_s=duration_s,
        error=error,
        approved=approved,
    )


def failure(message: str, duration_s: float = 0.0, *, approved: bool = True) -> ToolResult:
    """A call that produced no tool output: denied, unknown tool, timeout, crash."""
    return ToolResult(
        ok=False,
        text=message,
        prompt_text=message,
        duration_s=duration_s,
        error=message,
        approved=approved,
    )
