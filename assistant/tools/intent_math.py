"""Is this clause an arithmetic question, and if so, which expression does it ask about?

The rule is deliberately narrow: after an optional lead-in ("what is", "ile to jest",
"сколько будет", ...) and spelled-out operators (intent_math_words), the *whole* remainder
must parse as arithmetic with at least one operator or function call. "What is GPT-2's
context length?" leaves words behind and so never reaches the calculator. Only ``ast.parse`` is
used: nothing is evaluated. Arithmetic inside longer text is intent_math_embedded's.
"""

from __future__ import annotations

import ast
import re

from assistant.tools.intent_math_words import symbolic, word_problem
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
    r"^(?:(?:hey|ok|okay|so|please|quick\s+question|hi|a|и|а|no|to)[,:]?\s+)*"
    r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|please\s+|let'?s\s+|"
    r"(?:quick(?:ly)?|just)\s+)?"
    r"(?:what\s+is|what'?s|whats|how\s+much\s+is|how\s+much\s+are|how\s+many\s+is|"
    r"what\s+do\s+(?:you|i|we)\s+get\s+(?:for|from|if\s+(?:you|i|we))|"
    r"what(?:'s|\s+is)\s+the\s+(?:result|answer|value)\s+of|the\s+result\s+of|"
    r"what\s+would\s+be|how\s+much\s+would\s+be|what\s+comes\s+out\s+of|"
    r"calculate|compute|evaluate|work\s+out|figure\s+out|tell\s+me|give\s+me|solve|find|"
    r"what\s+does|how\s+much\s+does|how\s+big\s+is|how\s+large\s+is|"
    # Polish: "ile to jest", "ile wynosi", "oblicz", "policz"
    r"(?:powiedz(?:\s+mi)?,?\s+)?ile\s+(?:to\s+)?(?:jest|będzie|wynosi|daje|to)?|"
    r"oblicz|policz|wylicz|obliczy[ćc]|przelicz|podaj(?:\s+wynik)?|"
    # Russian: "сколько будет", "чему равно", "посчитай", "вычисли"
    r"(?:скажи,?\s+)?сколько\s+(?:будет|это|получится|выйдет)?|"
    r"чему\s+(?:равно|равен|равна|равны)|посчитай|подсчитай|вычисли|рассчитай|найди|реши)\s+",
    re.IGNORECASE,
)
_TRAILING = re.compile(
    r"(?:\s+(?:for\s+me|please|exactly|precisely|approximately|roughly|equal|equals|"
    r"come\s+to|make|give|in\s+total|altogether|proszę|dokładnie|пожалуйста|точно|"
    r"будет|равно))+\s*$",
    re.IGNORECASE,
)
_MAX_CHARS = 300  # longer "expressions" are prose, not questions


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


def parses_as_arithmetic(text: str) -> bool:
    """Whether ``text`` is pure arithmetic with at least one operation (``^`` read as ``**``)."""
    if len(text) > _MAX_CHARS:
        return False
    try:
        tree = ast.parse(text.replace("^", "**"), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # deep nesting: not a question
        return False
    return _is_arithmetic(tree) and _has_operation(tree)


def as_expression(candidate: str, *, whole_clause: bool = True) -> str | None:
    """``candidate`` as a calculator expression when it is pure arithmetic, else None."""
    text = candidate.strip().rstrip("?.=").strip()
    if not text or len(text) > _MAX_CHARS or not re.search(r"\d|\bpi\b|\btau\b", text):
        return None
    text = symbolic(text, whole_clause=whole_clause).rstrip("!").strip()
    return text if parses_as_arithmetic(text) else None


def _question_expression(question: str) -> str | None:
    """The whole question as arithmetic: a spoken request or symbols and operator words."""
    question = _TRAILING.sub("", question.rstrip("?.=").strip())
    if not question:
        return None
    if (spoken := word_problem(symbolic(question, whole_clause=True))) and (
        expression := as_expression(spoken)
    ):
        return expression
    if expression := as_expression(question):
        return expression
    # One trailing unit word ("10% of 1024 tokens", "3 * 4 GB"); the rest must still parse.
    unit = re.fullmatch(r"(.*\d\)?)\s+[^\W\d_]{1,12}", question)
    return as_expression(unit.group(1)) if unit else None


def arithmetic_expression(clause: str) -> str | None:
    """The expression an arithmetic question asks about: "what is 12% of 3,400?" →
    "12/100*3400"; None for anything that is not wholly arithmetic."""
    text = clause.strip().rstrip("?.").strip()
    if expression := _question_expression(text):
        return expression
    stripped = _LEAD_IN.sub("", text, count=1)
    if stripped == text:
        return None
    return _question_expression(stripped)
