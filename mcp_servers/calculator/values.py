"""The three kinds of number the calculator computes with, and how literals become them.

Integers and fractions are exact; a float appears only where a function (sqrt of a non-square,
log, sin, ...) or a literal in scientific notation (1.5e-3) makes the result approximate.
A fraction whose denominator is 1 is always turned back into an ``int``, so a ``Fraction``
value is never a whole number.
"""

from __future__ import annotations

import math
from fractions import Fraction

from mcp_servers.calculator.errors import CalculationLimitError

Number = int | Fraction | float
Exact = int | Fraction


def normalized(value: Fraction) -> Exact:
    """``value`` as an ``int`` when it is whole."""
    return value.numerator if value.denominator == 1 else value


def is_whole(value: Number) -> bool:
    if isinstance(value, int):
        return True
    if isinstance(value, Fraction):
        return value.denominator == 1
    return value.is_integer()


def is_scientific_literal(text: str) -> bool:
    return "e" in text or "E" in text


def literal_value(text: str, parsed: int | float) -> Number:
    """The number a literal stands for: ``0.1`` is exactly 1/10, ``1e-1`` the float 0.1.

    ``text`` is the literal as written (ASCII digits, ``.``, an optional exponent) and
    ``parsed`` what ``ast.parse`` made of it.
    """
    if isinstance(parsed, int):
        return parsed
    if is_scientific_literal(text):
        if not math.isfinite(parsed):
            raise CalculationLimitError("number too large for a decimal value")
        return parsed
    return normalized(Fraction(text))
