"""The calculator's shared vocabulary: plain data that the evaluator and the router agree on."""

from __future__ import annotations

import ast
from pathlib import Path

from assistant.tools import intent_math
from mcp_servers.calculator import vocabulary
from mcp_servers.calculator.functions import CONSTANTS, FUNCTIONS


def test_the_evaluators_tables_are_exactly_the_vocabulary() -> None:
    assert tuple(FUNCTIONS) == vocabulary.FUNCTION_NAMES
    assert tuple(CONSTANTS) == vocabulary.CONSTANT_NAMES


def test_the_vocabulary_imports_nothing_but_the_standard_library() -> None:
    tree = ast.parse(Path(vocabulary.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "ast"}


def test_the_router_knows_exactly_the_calculators_names() -> None:
    assert set(FUNCTIONS) == intent_math.FUNCTIONS
    assert set(CONSTANTS) == intent_math.CONSTANTS
    for name in vocabulary.FUNCTION_NAMES:
        assert intent_math.as_expression(f"{name}(4, 2)") == f"{name}(4, 2)"
    assert intent_math.as_expression("2 << 3") == "2 << 3"
    assert intent_math.as_expression("2 & 3") is None  # not in the calculator's operators
