"""MCP wiring for the calculator: one tool, ``evaluate``, over stdio.

All the arithmetic lives in ``evaluator``; this module only translates its results into MCP
structured output and its ``CalculationError`` into a tool error (``isError: true``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from mcp_servers import package_version
from mcp_servers.calculator.evaluator import (
    CONSTANTS,
    DEFAULT_LIMITS,
    FUNCTIONS,
    CalculationError,
    CalculatorLimits,
    evaluate_expression,
)
from mcp_servers.logging_setup import configure_stderr_logging

SERVER_NAME = "calculator"

EVALUATE_DESCRIPTION = f"""Evaluate an arithmetic expression exactly where possible.

Operators: + - * / // % ** (also ^), << >>, parentheses, unary signs; × and ÷ are accepted,
2(3+4) and 2pi mean multiplication, and 1,000 is one thousand outside function arguments.
Numbers: integers of any size up to about {DEFAULT_LIMITS.max_int_bits * 3 // 10:,} digits,
decimals, scientific notation (1.5e-3).
Constants: {", ".join(CONSTANTS)}.
Functions: {", ".join(FUNCTIONS)}. log(x) is the natural logarithm; log(x, base) takes a base.
Angles are in radians. Never runs code: anything else is an error."""


class CalculationResult(BaseModel):
    """The structured result of ``evaluate``."""

    expression: str = Field(description="The expression as it was understood, normalized.")
    value: int | float | None = Field(
        description=(
            "The result: an exact integer when it is one (up to 1000 digits), otherwise a float; "
            "null when it is too large for a float."
        )
    )
    display: str = Field(description="The result as text; huge integers in scientific notation.")
    exact: bool = Field(description="Whether `value` is exactly the result.")


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
    def evaluate(expression: str) -> CalculationResult:
        try:
            calculation = evaluate_expression(expression, limits)
        except CalculationError as error:
            raise ToolError(str(error)) from None
        return CalculationResult(
            expression=calculation.expression,
            value=calculation.value,
            display=calculation.display,
            exact=calculation.exact,
        )

    return server


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: ``assistant-calculator`` / ``python -m mcp_servers.calculator``."""
    parser = argparse.ArgumentParser(
        prog="assistant-calculator",
        description="MCP calculator server speaking the protocol on stdin/stdout.",
    )
    parser.add_argument("--log-level", default="WARNING", choices=_LOG_LEVELS)
    options = parser.parse_args(argv)
    configure_stderr_logging(options.log_level)
    build_server().run("stdio")
    return 0


_LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]
