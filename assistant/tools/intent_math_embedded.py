"""Arithmetic written inside a longer question, and products written as estimates.

"what's 3 * 12 and why does that matter for attention?" holds the expression ``3 * 12``;
"12 layers × 768 × 768" is the product ``12 * 768 * 768``. A run of numbers and operators in
prose counts only when it holds an operator that cannot be ordinary punctuation: ``*``,
``×``, ``^``, ``+``, a function call, `` / `` with spaces around it, or `` - `` with spaces
where the expression ends the question (``GPT-2``, ``lines 5-9``, ``50/50``, ``24/7`` and
"3 - 2 layers deep" are not sums). Only ``ast.parse`` is used (through
intent_math): nothing is evaluated.
"""

from __future__ import annotations

import re

from assistant.tools.intent_math import FUNCTIONS, parses_as_arithmetic
from assistant.tools.intent_math_words import symbolic

_NUMBER = r"(?:\d+(?:\.\d+)?|\.\d+)(?:e[-+]?\d+)?"
_FUNCTION = "|".join(sorted(FUNCTIONS, key=len, reverse=True))
# One token of an arithmetic run. A number glued to a word ("GPT-2", "top-5", "log10" as a
# name, "d_k2") belongs to that word.
_TOKEN = re.compile(
    rf"\s*(?:(?<![\w.])-?{_NUMBER}(?![\w.])|\*\*|[-+*/^%(),]|(?:{_FUNCTION})(?=\()|"
    r"(?<![\w.])(?:pi|tau)(?![\w.]))"
)
_STRONG = re.compile(r"[*^+]|\w\(|\s/\s")
# "3 - 2 layers deep" is a dash in prose; "... 250 - 90?" asks for a difference.
_SPACED_MINUS = re.compile(r"\s-\s")
_ENDS_QUESTION = re.compile(r"^\s*(?:$|[?=,;:.!]|and\b|or\b|i\b|и\b)", re.IGNORECASE)
_YEAR_RANGE = re.compile(r"(?:19|20)\d\d\s*-\s*(?:19|20)\d\d")
_LONE_OPERATOR = re.compile(r"^[\s*/^%+,]+|[\s*/^%+\-,(]+$")

_FACTOR = rf"{_NUMBER}(?:\s*(?:\*\*|\^)\s*\d+)?"
_UNIT = r"(?:\s+(?!x\b|times\b|razy\b)[^\W\d_]{1,14}(?:-[^\W\d_]+)?){0,2}"
_TIMES = r"\s*(?:\*|×|·)\s*|\s+(?:x|times|razy)\s+"
# "12 layers × 768 × 768 × 12", "2 bytes x 7e9 params": numbers, each maybe with a unit.
_PRODUCT = re.compile(
    rf"(?<![\w.-])(?P<chain>{_FACTOR}{_UNIT}(?:(?:{_TIMES}){_FACTOR}{_UNIT})+)", re.IGNORECASE
)
_FACTOR_IN_CHAIN = re.compile(rf"(?<![\w.]){_FACTOR}")


def _runs(text: str) -> list[tuple[str, str]]:
    """Maximal runs of arithmetic tokens in ``text``, in order, each with the text after it."""
    runs, position, start = [], 0, 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match:
            position = match.end()
            continue
        if text[start:position].strip():
            runs.append((text[start:position].strip(), text[position:]))
        position += 1
        start = position
    if text[start:].strip():
        runs.append((text[start:].strip(), ""))
    return runs


def _balanced(run: str) -> str:
    """``run`` without the operators and unmatched brackets at its edges."""
    previous = None
    while run != previous:
        previous = run
        run = _LONE_OPERATOR.sub("", run).strip()
        if run.count("(") > run.count(")") and run.startswith("("):
            run = run[1:].strip()
        if run.count(")") > run.count("(") and run.endswith(")"):
            run = run[:-1].strip()
        if run.startswith("(") and run.endswith(")") and run.count("(") == 1:
            run = run[1:-1].strip()
    return run


def embedded_expressions(clause: str) -> list[str]:
    """The arithmetic expressions written inside ``clause`` (operator words read as operators)."""
    found: list[str] = []
    for run, after in _runs(symbolic(clause)):
        candidate = _balanced(run)
        if _YEAR_RANGE.fullmatch(candidate):
            continue
        strong = _STRONG.search(candidate) or (
            _SPACED_MINUS.search(candidate)
            and (run.endswith(",") or _ENDS_QUESTION.match(after) is not None)
        )
        if strong and candidate not in found and parses_as_arithmetic(candidate):
            found.append(candidate)
    return found


def product_estimate(clause: str) -> str | None:
    """A product written with units between its factors, as an expression: "12 layers × 768
    × 768" → "12 * 768 * 768"; None when the clause holds none."""
    text = symbolic(clause.replace("×", " × ")).replace(" * ", " × ")
    match = _PRODUCT.search(text)
    if not match:
        return None
    chain = match["chain"]
    factors = [re.sub(r"\s+", "", factor) for factor in _FACTOR_IN_CHAIN.findall(chain)]
    # "a 3 x 3 kernel" is a shape, not a question: an estimate has a unit between its
    # factors, three or more factors, or a size in the hundreds.
    unit_inside = re.search(r"[^\W\d_]{2,}\s*(?:×|x\b|times|razy)", chain, re.IGNORECASE)
    large = any(float(factor.split("*")[0].split("^")[0]) >= 100 for factor in factors)
    if len(factors) < 2 or not (unit_inside or len(factors) >= 3 or large):
        return None
    expression = " * ".join(factors)
    return expression if parses_as_arithmetic(expression) else None
