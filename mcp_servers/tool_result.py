"""One tool call's MCP result: readable text for people, structured content for programs.

Every server's tools return the same shape: the text content is the rendered result (a client
shows it as is), the structured content is the result record validated by the tool's output
model. A refusal the server's pure logic raises becomes an MCP tool error naming its reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel


def tool_result(
    model: type[BaseModel],
    render: Callable[[Any], str],
    refusals: type[Exception] | tuple[type[Exception], ...],
    method: Callable[..., Any],
    *arguments: Any,
) -> CallToolResult:
    """Run ``method(*arguments)`` (it returns a dataclass record) as one tool call."""
    try:
        result = method(*arguments)
    except refusals as error:
        raise ToolError(str(error)) from None
    structured = model.model_validate(dataclasses.asdict(result)).model_dump(mode="json")
    return CallToolResult(
        content=[TextContent(type="text", text=render(result))], structured_content=structured
    )
