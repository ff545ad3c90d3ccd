"""The calculator's language as plain data: its constants, functions and operators.

The evaluator enforces this vocabulary and the assistant's router uses it to decide which text
is arithmetic, so both read it from here. This module must stay importable on its own: no
imports from the rest of ``mcp_servers`` (the assistant may import this module and no other).
"""

from __future__ import annotations

import ast

CONSTANT_NAMES: tuple[str, ...] = ("pi", "e", "tau")

# In the order the tool description lists them.
FUNCTION_NAMES: tuple[str, ...] = (
    "sqrt",
    "cbrt",
    "exp",
    "ln",
    "log",
    "log10",
    "log2",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "degrees",
    "radians",
    "abs",
    "round",
    "floor",
    "ceil",
    "factorial",
    "gcd",
    "lcm",
    "hypot",
    "min",
    "max",
)

# Syntax-tree operator types, as ``ast.parse`` produces them for + - * / // % ** << >>.
BINARY_OPERATORS: tuple[type[ast.operator], ...] = (
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.LShift,
    ast.RShift,
)
UNARY_OPERATORS: tuple[type[ast.unaryop], ...] = (ast.UAdd, ast.USub)
