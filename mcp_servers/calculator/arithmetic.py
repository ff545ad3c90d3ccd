"""Gate 3: walk a checked syntax tree and compute its value within the work budget.

Integers and fractions stay exact (``2**100 / 7`` is the fraction 2**100/7, ``0.1 + 0.2`` is
exactly 3/10); floats enter only through functions and scientific-notation literals, and any
float operand makes the operation a float one. Powers and shifts estimate their result's size
before computing it, and every intermediate is capped (integers and both parts of a fraction
in bits, floats to finite values).
"""

from __future__ import annotations

import ast
import math
from fractions import Fraction

from mcp_servers.calculator.errors import (
    CalculationError,
    CalculationLimitError,
    CalculationMathError,
    CalculationSyntaxError,
)
from mcp_servers.calculator.functions import CONSTANTS, FUNCTIONS
from mcp_servers.calculator.limits import CalculatorLimits, WorkBudget, power_bits
from mcp_servers.calculator.syntax import literal_text
from mcp_servers.calculator.values import Exact, Number, is_whole, literal_value, normalized


class Evaluation:
    """One walk over a checked tree of ``source``, carrying the work budget spent so far."""

    def __init__(self, limits: CalculatorLimits, source: str) -> None:
        self.budget = WorkBudget(limits)
        self.source = source

    def value_of(self, node: ast.AST) -> Number:
        try:
            return self._value_of(node)
        except CalculationError:
            raise
        except ZeroDivisionError:
            raise CalculationMathError("division by zero") from None
        except OverflowError:
            raise CalculationMathError("overflow: the result is too large") from None
        except RecursionError:  # not reachable within the default limits; kept as a backstop
            raise CalculationLimitError("expression nested too deeply") from None
        except (ArithmeticError, ValueError, TypeError) as error:
            raise CalculationMathError(f"cannot evaluate: {error}") from None

    def _value_of(self, node: ast.AST) -> Number:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return self.checked(literal_value(literal_text(node, self.source), node.value))
        if isinstance(node, ast.Name):
            return CONSTANTS[node.id]
        if isinstance(node, ast.UnaryOp):
            operand = self._value_of(node.operand)
            return self.checked(-operand if isinstance(node.op, ast.USub) else +operand)
        if isinstance(node, ast.BinOp):
            left = self._value_of(node.left)
            right = self._value_of(node.right)
            # Operands count as work too: dividing two big numbers costs more than the
            # (small) quotient shows.
            self.budget.charge(_bits(left) + _bits(right))
            return self.checked(self._binary(node.op, left, right))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            function = FUNCTIONS[node.func.id]
            arguments = [self._value_of(arg) for arg in node.args]
            function.check_arity(len(arguments))
            # isqrt, gcd and friends cost with their input's size.
            self.budget.charge(sum(_bits(argument) for argument in arguments))
            return self.checked(function.apply(self.budget, arguments))
        raise CalculationSyntaxError(f"not allowed in an expression: {type(node).__name__}")

    def checked(self, value: Number) -> Number:
        """Cap every intermediate: exact numbers in bits (and in total work), floats to finite."""
        if isinstance(value, Fraction):
            value = normalized(value)
        if isinstance(value, int):
            bits = value.bit_length()
            self.budget.require_int_bits(bits)
            self.budget.charge(bits)
            return value
        if isinstance(value, Fraction):
            self.budget.require_int_bits(value.numerator.bit_length())
            self.budget.require_denominator_bits(value.denominator.bit_length())
            self.budget.charge(_bits(value))
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise CalculationMathError("overflow: the result is too large")
            return 0.0 if value == 0 else value  # no "-0"
        raise CalculationMathError("the result is not a real number")

    def _binary(self, op: ast.operator, left: Number, right: Number) -> Number:
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            if isinstance(left, int) and isinstance(right, int):
                self.budget.require_int_bits(left.bit_length() + right.bit_length() - 1)
            # Fraction products are computed, then checked: their operands are capped, so
            # the unreduced product is at most twice the cap.
            return left * right
        if isinstance(op, ast.Div):
            if isinstance(left, int) and isinstance(right, int):
                return Fraction(left, right)  # exact: 10/2 is 5, 1/3 stays 1/3
            return left / right
        if isinstance(op, ast.FloorDiv):
            return left // right
        if isinstance(op, ast.Mod):
            return left % right
        if isinstance(op, ast.Pow):
            return self._power(left, right)
        if isinstance(op, ast.LShift | ast.RShift):
            return self._shift(op, left, right)
        raise CalculationSyntaxError(f"operator not allowed: {type(op).__name__}")

    def _power(self, base: Number, exponent: Number) -> Number:
        if isinstance(exponent, int) and isinstance(base, int | Fraction):
            return self._exact_power(base, exponent)
        if base < 0 and not is_whole(exponent):
            raise CalculationMathError(
                "a negative number to a fractional power is not a real number"
            )
        return float(base) ** float(exponent)

    def _exact_power(self, base: Exact, exponent: int) -> Exact:
        if exponent < 0:
            if base == 0:
                raise CalculationMathError("division by zero: 0 to a negative power")
            base, exponent = normalized(1 / Fraction(base)), -exponent
        if exponent in (0, 1):
            return base**exponent
        numerator, denominator = base.numerator, base.denominator
        if denominator == 1 and abs(numerator) <= 1:
            return 1 if numerator == -1 and exponent % 2 == 0 else numerator
        # Sizes of the result's parts in bits, known before computing them: 9**9**9 and
        # (1/3)**10**6 stop here. A part >= 2 in size has at least `exponent` bits.
        if abs(numerator) >= 2:
            self.budget.require_int_bits(exponent)
            self.budget.require_int_bits(power_bits(numerator, exponent))
        if denominator >= 2:
            self.budget.require_denominator_bits(exponent)
            self.budget.require_denominator_bits(power_bits(denominator, exponent))
        return base**exponent

    def _shift(self, op: ast.operator, value: Number, count: Number) -> int:
        if not isinstance(value, int) or not isinstance(count, int):
            raise CalculationMathError("shifts need integer operands")
        if count < 0:
            raise CalculationMathError("negative shift count")
        if isinstance(op, ast.RShift):
            return value >> count if count <= value.bit_length() else (-1 if value < 0 else 0)
        if value == 0:
            return 0
        self.budget.require_int_bits(value.bit_length() + count)
        return value << count


def _bits(value: Number) -> int:
    """The big-number size of an operand: an integer's bits, both parts of a fraction."""
    if isinstance(value, int):
        return value.bit_length()
    if isinstance(value, Fraction):
        return value.numerator.bit_length() + value.denominator.bit_length()
    return 0
