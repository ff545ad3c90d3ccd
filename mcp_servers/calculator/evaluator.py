"""A bounded arithmetic evaluator that never executes code: the public entry point.

The input goes through three gates before any number is computed:

1. ``tokens.tokenize`` scans the raw text with one regular expression (length checked first),
   rewrites the friendly syntax people type and rejects any name outside the vocabulary.
2. ``syntax.parse`` turns the cleaned text into a syntax tree (parsing only, nothing is compiled
   or run), and ``syntax.check_tree`` walks it iteratively against an allow-list of node types
   while counting nodes and depth.
3. ``arithmetic.Evaluation`` walks the tree itself, exactly (integers and fractions) where the
   expression allows, estimating the size of every costly result before computing it and
   summing the bits produced against a work budget (``limits``). Together these bound time and
   memory for any input without threads, signals or timeouts.

``formatting`` turns the value into a ``Calculation`` with its display text.
"""

from __future__ import annotations

from mcp_servers.calculator.arithmetic import Evaluation
from mcp_servers.calculator.errors import (
    CalculationError,
    CalculationLimitError,
    CalculationMathError,
    CalculationSyntaxError,
)
from mcp_servers.calculator.formatting import Calculation, describe, result_line
from mcp_servers.calculator.limits import DEFAULT_LIMITS, CalculatorLimits
from mcp_servers.calculator.syntax import check_tree, normalized_expression, parse
from mcp_servers.calculator.tokens import tokenize

__all__ = [
    "DEFAULT_LIMITS",
    "Calculation",
    "CalculationError",
    "CalculationLimitError",
    "CalculationMathError",
    "CalculationSyntaxError",
    "CalculatorLimits",
    "evaluate_expression",
    "result_line",
]


def evaluate_expression(text: str, limits: CalculatorLimits = DEFAULT_LIMITS) -> Calculation:
    """Evaluate ``text`` and return its normalized form, value and display string.

    Raises ``CalculationError`` (one of its subclasses) for anything that has no value.
    """
    if not isinstance(text, str):
        raise CalculationSyntaxError("the expression must be a string")
    if len(text) > limits.max_input_chars:
        raise CalculationLimitError(
            f"expression too long: {len(text):,} characters (limit {limits.max_input_chars:,})"
        )
    source = tokenize(text, limits)
    tree = parse(source)
    check_tree(tree, limits)
    value = Evaluation(limits, source).value_of(tree.body)
    return describe(normalized_expression(tree, source), value, limits)
