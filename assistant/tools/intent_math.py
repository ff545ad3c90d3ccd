"""Is this clause an arithmetic question, and if so, which expression does it ask about?

The rule is deliberately narrow: after an optional lead-in ("what is", "calculate", ...) and
a few spelled-out operators ("times", "12% of"), the *whole* remainder must parse as arithmetic
with at least one operator or function call. "What is GPT-2's context length?" leaves words
behind and so never reaches the calculator. Only ``ast.parse`` is used: nothing is evaluated.
"""

from __future__ import annotations

import ast
import re

from mcp_servers.calculator.vocabulary import (
    BINARY_OPERATORS,
    CONSTANT_NAMES,
    FUNCTION_NAMES,
    UNARY_OPERATORS,
)

# Exactly the names the calculator knows.
FUNCTIONS = frozenset(FUNCTION_NAMES)
CONSTANTS = frozenset(CONSTANT_NAMES)

_LEAD_IN = re.compile(
    r"^(?:(?:hey|ok|okay|so|please|quick question)[,:]?\s+)*"
    r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|please\s+|let'?s\s+)?"
    r"(?:what\s+is|what'?s|whats|how\s+much\s+is|how\s+much\s+are|what\s+do\s+you\s+get\s+for|"
    r"calculate|compute|evaluate|work\s+out|figure\s+out|tell\s+me|give\s+me|solve|find|"
    r"what\s+does|how\s+much\s+does|how\s+big\s+is|how\s+large\s+is)\s+",
    re.IGNORECASE,
)
_TRAILING = re.compile(
    r"(?:\s+(?:for\s+me|please|exactly|precisely|approximately|roughly|equal|equals|"
    r"come\s+to|make|give|in\s+total|altogether))+\s*$",
    re.IGNORECASE,
)
_NUMBER = r"(?:\d+(?:\.\d+)?|\.\d+)"
_N = rf"(-?{_NUMBER}(?:e-?\d+)?)"
_WORD_OPERATORS = [
    # "the sum of 3 and 4", "divide 1000 by 8", "subtract 3 from 10"
    (re.compile(rf"^(?:the\s+)?sum\s+of\s+{_N}\s+and\s+{_N}$", re.I), r"\1 + \2"),
    (re.compile(rf"^(?:the\s+)?product\s+of\s+{_N}\s+and\s+{_N}$", re.I), r"\1 * \2"),
    (
        re.compile(rf"^(?:the\s+)?(?:quotient|ratio)\s+of\s+{_N}\s+(?:and|to|over)\s+{_N}$", re.I),
        r"\1 / \2",
    ),
    (re.compile(rf"^add\s+{_N}\s+(?:and|to)\s+{_N}$", re.I), r"\1 + \2"),
    (re.compile(rf"^multiply\s+{_N}\s+(?:by|and|with)\s+{_N}$", re.I), r"\1 * \2"),
    (re.compile(rf"^divide\s+{_N}\s+by\s+{_N}$", re.I), r"\1 / \2"),
    (re.compile(rf"^subtract\s+{_N}\s+from\s+{_N}$", re.I), r"\2 - \1"),
    (re.compile(rf"({_NUMBER})\s*(?:%|\s+percent)\s+of\s+", re.I), r"\1/100*"),
    (
        re.compile(
            r"\b(square\s+root|sqrt|cube\s+root|log|ln|sin|cos|tan|exp)\s+of\s+"
            rf"(-?{_NUMBER}|pi|e|tau)\b",
            re.I,
        ),
        r"\1(\2)",
    ),
    (re.compile(r"\bsquare\s+root\s*\(", re.I), "sqrt("),
    (re.compile(r"\bcube\s+root\s*\(", re.I), "cbrt("),
    (re.compile(r"\s+(?:multiplied\s+by|times)\s+", re.I), " * "),
    (re.compile(r"\s+divided\s+by\s+", re.I), " / "),
    (re.compile(r"\s+(?:over)\s+(?=\d)", re.I), " / "),
    (re.compile(r"\s+plus\s+", re.I), " + "),
    (re.compile(r"\s+minus\s+", re.I), " - "),
    (
        re.compile(
            r"\s+(?:to\s+the\s+power\s+of|raised\s+to(?:\s+the\s+power\s+of)?|"
            r"to\s+the)\s+",
            re.I,
        ),
        " ** ",
    ),
    (re.compile(r"\bthe\s+", re.I), ""),
    (re.compile(r"\s+squared\b", re.I), " ** 2"),
    (re.compile(r"\s+cubed\b", re.I), " ** 3"),
    (re.compile(r"\bmod(?:ulo)?\b", re.I), "%"),
    (re.compile(rf"(?<=\d)\s*[x×]\s*(?={_NUMBER})"), " * "),
    (re.compile(r"÷"), "/"),
    (re.compile(r"[−–]"), "-"),
    # 3,400 → 3400 (a thousands separator, not an argument list)
    (re.compile(r"(?<=\d),(?=\d{3}(?!\d))"), ""),
]
_MAX_CHARS = 300  # longer "expressions" are prose, not questions


def _normalize(text: str) -> str:
    for pattern, replacement in _WORD_OPERATORS:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def _is_arithmetic(node: ast.AST) -> bool:
    """Only numbers, known constants, unary/binary operators and known function calls."""
    if isinstance(node, ast.Expression):
        return _is_arithmetic(node.body)
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int | float) and not isinstance(node.value, bool)
    if isinstance(node, ast.Name):
        return node.id in CONSTANTS
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, UNARY_OPERATORS) and _is_arithmetic(node.operand)
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, BINARY_OPERATORS) and all(
            _is_arithmetic(side) for side in (node.left, node.right)
        )
    if isinstance(node, ast.Call):
        return (
            isinstance(node.func, ast.Name)
            and node.func.id in FUNCTIONS
            and not node.keywords
            and bool(node.args)
            and all(_is_arithmetic(arg) for arg in node.args)
        )
    return False


def _has_operation(node: ast.AST) -> bool:
    return any(isinstance(n, ast.BinOp | ast.Call) for n in ast.walk(node))


def as_expression(candidate: str) -> str | None:
    """``candidate`` as a calculator expression when it is pure arithmetic, else None."""
    text = candidate.strip().rstrip("?!.=").strip()
    if not text or len(text) > _MAX_CHARS or not re.search(r"\d|\bpi\b|\btau\b", text):
        return None
    text = _normalize(text)
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval")
    except (SyntaxError, ValueError):
        return None
    if not _is_arithmetic(tree) or not _has_operation(tree):
        return None
    return text


def arithmetic_expression(clause: str) -> str | None:
    """The expression an arithmetic question asks about: "what is 12% of 3,400?" →
    "12/100*3400"; None for anything that is not wholly arithmetic."""
    text = clause.strip().rstrip("?!.").strip()
    if expression := as_expression(text):
        return expression
    stripped = _LEAD_IN.sub("", text, count=1)
    if stripped == text:
        return None
    stripped = _TRAILING.sub("", stripped.rstrip("?!.=").strip())
    if expression := as_expression(stripped):
        return expression
    # One trailing unit word ("10% of 1024 tokens", "3 * 4 GB"); the rest must still parse.
    unit = re.fullmatch(r"(.*\d\)?)\s+[A-Za-z]{1,12}", stripped)
    return as_expression(unit.group(1)) if unit else None
