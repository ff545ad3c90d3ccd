"""MCP wiring for the calculator: one tool, ``evaluate``, over stdio or Streamable HTTP.

All the arithmetic lives in ``evaluator``; this module only translates its results into MCP
output (structured content for programs, one readable line of text for people) and its
``CalculationError`` into a tool error (``isError: true``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from mcp_servers import package_version
from mcp_servers.calculator.evaluator import (
    DEFAULT_LIMITS,
    CalculationError,
    CalculatorLimits,
    evaluate_expression,
    result_line,
)
from mcp_servers.calculator.vocabulary import CONSTANT_NAMES, FUNCTION_NAMES
from mcp_servers.logging_setup import configure_stderr_logging
from mcp_servers.transport import add_transport_arguments, serve

SERVER_NAME = "calculator"

EVALUATE_DESCRIPTION = f"""Evaluate an arithmetic expression exactly where possible.

Operators: + - * / // % ** (also ^), << >>, parentheses, unary signs; × and ÷ are accepted,
2(3+4) and 2pi mean multiplication, and 1,000 is one thousand outside function arguments.
Numbers: integers of any size up to about {DEFAULT_LIMITS.max_int_bits * 3 // 10:,} digits,
decimals (exact: 0.1 + 0.2 is 3/10), scientific notation (1.5e-3, a float).
Division of exact numbers stays an exact fraction (2^100 / 7); floats come only from
functions such as sqrt of a non-square, log or sin, and from scientific notation.
Constants: {", ".join(CONSTANT_NAMES)}.
Functions: {", ".join(FUNCTION_NAMES)}. log(x) is the natural logarithm; log(x, base) takes a
base. Angles are in radians. Never runs code: anything else is an error."""


class CalculationResult(BaseModel):
    """The structured result of ``evaluate``."""

    expression: str = Field(description="The expression as it was understood, normalized.")
    value: int | float | None = Field(
        description=(
            "The result: an exact integer when it is one (up to 1000 digits), otherwise the "
            "nearest float (also for an exact fraction); null when it does not fit a float."
        )
    )
    display: str = Field(
        description=(
            "The result as text: 1/3 ≈ 0.333333333333333 for a fraction, 0.3 for a terminating "
            "one; numbers over 1000 digits in scientific notation."
        )
    )
    exact: bool = Field(
        description="Whether the result is exact; then `numerator`/`denominator` hold it."
    )
    numerator: int | None = Field(
        default=None, description="The exact result's numerator (the integer itself for one)."
    )
    denominator: int | None = Field(
        default=None, description="The exact result's denominator, positive (1 for an integer)."
    )


def build_server(limits: CalculatorLimits = DEFAULT_LIMITS) -> MCPServer:
    """Return the calculator MCP server (not started)."""
    server = MCPServer(
        name=SERVER_NAME,
        version=package_version(),
        instructions="Use `evaluate` for arithmetic instead of computing numbers yourself.",
    )

    @server.tool(
        name="evaluate",
        title="Calculator",
        description=EVALUATE_DESCRIPTION,
        annotations=ToolAnnotations(
            read_only_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    def evaluate(expression: str) -> Annotated[CallToolResult, CalculationResult]:
        try:
            calculation = evaluate_expression(expression, limits)
        except CalculationError as error:
            raise ToolError(str(error)) from None
        structured = CalculationResult(
            expression=calculation.expression,
            value=calculation.value,
            display=calculation.display,
            exact=calculation.exact,
            numerator=calculation.numerator,
            denominator=calculation.denominator,
        )
        # People read the text (a tool card, `assistant tools call`); programs the fields.
        return CallToolResult(
            content=[TextContent(type="text", text=result_line(calculation))],
            structured_content=structured.model_dump(mode="json"),
        )

    return server


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: ``assistant-calculator`` / ``python -m mcp_servers.calculator``."""
    parser = argparse.ArgumentParser(
        prog="assistant-calculator",
        description="MCP calculator server (stdin/stdout by default, or Streamable HTTP).",
    )
    parser.add_argument("--log-level", default="WARNING", choices=_LOG_LEVELS)
    add_transport_arguments(parser)
    options = parser.parse_args(argv)
    configure_stderr_logging(options.log_level)
    return serve(build_server(), options)


_LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]
