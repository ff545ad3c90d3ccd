"""The calculator's bounds, and the budget one evaluation spends against them.

Every operation whose cost grows with its operands asks the budget *before* computing: the
size of its result is estimated from the operands' bit lengths, and the bits produced and
consumed over the whole expression are summed. That bounds time and memory for any input
without threads, signals or timeouts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mcp_servers.calculator.errors import CalculationLimitError


@dataclass(frozen=True)
class CalculatorLimits:
    """Every bound the evaluator enforces; the defaults keep any input well under 100 ms."""

    max_input_chars: int = 1_000
    max_tokens: int = 400
    max_paren_depth: int = 40
    max_tree_depth: int = 100
    max_tree_nodes: int = 400
    # About 10,000 decimal digits: big enough for 2**10000 or factorial(3000), small enough
    # that multiplying two such numbers takes microseconds. A fraction's numerator and
    # denominator are each held to it.
    max_int_bits: int = 33_220
    # Sum of the bit lengths of all integers produced while evaluating one expression.
    max_work_bits: int = 1_000_000
    # Integers (and fractions' parts) with more digits are shown in scientific notation.
    max_display_digits: int = 1_000
    max_round_digits: int = 1_000


DEFAULT_LIMITS = CalculatorLimits()


class WorkBudget:
    """The limits plus the big-number work one evaluation has spent so far."""

    def __init__(self, limits: CalculatorLimits) -> None:
        self.limits = limits
        self.work_bits = 0

    def charge(self, bits: int) -> None:
        self.work_bits += bits
        if self.work_bits > self.limits.max_work_bits:
            raise CalculationLimitError("expression too expensive: too much big-number work")

    def require_int_bits(self, bits: float) -> None:
        """An integer (or a fraction's numerator) of ``bits`` bits must fit the cap."""
        if bits > self.limits.max_int_bits:
            raise CalculationLimitError(
                f"result too large: about {approx_digits(bits)} digits "
                f"(limit about {approx_digits(self.limits.max_int_bits)} digits)"
            )

    def require_denominator_bits(self, bits: float) -> None:
        if bits > self.limits.max_int_bits:
            raise CalculationLimitError(
                f"result too precise: a denominator of about {approx_digits(bits)} digits "
                f"(limit about {approx_digits(self.limits.max_int_bits)} digits)"
            )


def approx_digits(bits: float) -> str:
    """How many decimal digits an integer of ``bits`` bits has, for messages (1,234)."""
    try:
        return f"{math.floor(bits * math.log10(2)) + 1:,}"
    except OverflowError:
        return "more than 10**300"


def power_bits(base: int, exponent: int) -> int:
    """Bits of ``base ** exponent`` for |base| >= 2, known before computing it.

    ``exponent`` must already be known to fit the cap (a result has at least ``exponent``
    bits), so the product stays a small float.
    """
    return math.floor(exponent * math.log2(abs(base))) + 1
