"""Gate 2: parse the tokens into a syntax tree and hold it to an allow-list.

``ast.parse`` only parses: nothing is compiled or run. ``check_tree`` then walks the tree
iteratively, refusing any node type outside the language and bounding the node count and
depth, so the evaluator only ever sees numbers, listed names, listed operators and calls of
listed functions with positional arguments.
"""

from __future__ import annotations

import ast

from mcp_servers.calculator.errors import CalculationLimitError, CalculationSyntaxError
from mcp_servers.calculator.limits import CalculatorLimits
from mcp_servers.calculator.tokens import KNOWN_NAMES_HINT
from mcp_servers.calculator.values import is_scientific_literal
from mcp_servers.calculator.vocabulary import (
    BINARY_OPERATORS,
    CONSTANT_NAMES,
    FUNCTION_NAMES,
    UNARY_OPERATORS,
)

# Operator and context nodes are leaves that carry no value; they are allowed but not counted.
_MARKER_NODES = (*BINARY_OPERATORS, *UNARY_OPERATORS, ast.Load)
_VALUE_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Call)


def parse(source: str) -> ast.Expression:
    try:
        return ast.parse(source, mode="eval")
    except SyntaxError as error:
        raise CalculationSyntaxError(f"syntax error: {error.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise CalculationSyntaxError("syntax error: the expression cannot be parsed") from None


def check_tree(tree: ast.Expression, limits: CalculatorLimits) -> None:
    """Reject any node outside the allow-list; bound the node count and depth (iteratively)."""
    node_count = 0
    pending: list[tuple[ast.AST, int]] = [(tree, 0)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, _MARKER_NODES):
            continue
        if not isinstance(node, _VALUE_NODES):
            raise CalculationSyntaxError(f"not allowed in an expression: {type(node).__name__}")
        node_count += 1
        if node_count > limits.max_tree_nodes:
            raise CalculationLimitError(
                f"expression too large: more than {limits.max_tree_nodes} terms"
            )
        if depth > limits.max_tree_depth:
            raise CalculationLimitError(
                f"expression nested too deeply: more than {limits.max_tree_depth} levels"
            )
        _check_node(node)
        # A call's function name was checked by _check_node; only its arguments are values.
        children = node.args if isinstance(node, ast.Call) else ast.iter_child_nodes(node)
        pending.extend((child, depth + 1) for child in children)


def _check_node(node: ast.AST) -> None:
    if isinstance(node, ast.BinOp) and not isinstance(node.op, BINARY_OPERATORS):
        raise CalculationSyntaxError(f"operator not allowed: {type(node.op).__name__}")
    if isinstance(node, ast.UnaryOp) and not isinstance(node.op, UNARY_OPERATORS):
        raise CalculationSyntaxError(f"operator not allowed: {type(node.op).__name__}")
    if isinstance(node, ast.Constant) and type(node.value) not in (int, float):
        raise CalculationSyntaxError(f"not a number: {node.value!r}")
    if isinstance(node, ast.Name) and node.id not in CONSTANT_NAMES:
        if node.id in FUNCTION_NAMES:
            raise CalculationSyntaxError(f"{node.id} is a function: call it like {node.id}(x)")
        raise CalculationSyntaxError(f"unknown name {node.id!r}; {KNOWN_NAMES_HINT}")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTION_NAMES:
            raise CalculationSyntaxError("only the listed functions can be called")
        if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
            raise CalculationSyntaxError(f"{node.func.id}() takes plain positional arguments")


def literal_text(node: ast.Constant, source: str) -> str:
    """A number literal exactly as written in ``source`` (one line of ASCII tokens)."""
    return source[node.col_offset : node.end_col_offset]


def normalized_expression(tree: ast.Expression, source: str) -> str:
    """The checked expression as text, decimal literals as written.

    ``ast.unparse`` would print a decimal literal as the float Python read it (``1e309`` for
    a 400-digit decimal), while the evaluator uses the literal's exact value.
    """
    return ast.unparse(_DecimalsAsWritten(source).visit(tree).body)


class _DecimalsAsWritten(ast.NodeTransformer):
    def __init__(self, source: str) -> None:
        self.source = source

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        text = literal_text(node, self.source)
        if not isinstance(node.value, float) or is_scientific_literal(text):
            return node
        # A Name prints its id verbatim; the tree is only unparsed after this.
        shown = ("0" + text if text.startswith(".") else text) + ("0" if text.endswith(".") else "")
        return ast.Name(id=shown, ctx=ast.Load())
