"""The calculator's function table: arity, domain and size checks for each listed function.

Exact inputs stay exact where the answer is exact (``sqrt(144)``, ``sqrt(0.25)``, ``round(2.567,
2)``, ``floor(7/2)``, ``max(1/3, 0.3)``); transcendental functions give floats. Functions whose
cost grows with their input (``factorial``, ``lcm``) estimate their result's size first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import cast

from mcp_servers.calculator.errors import (
    CalculationLimitError,
    CalculationMathError,
    CalculationSyntaxError,
)
from mcp_servers.calculator.formatting import short_text
from mcp_servers.calculator.limits import WorkBudget
from mcp_servers.calculator.values import Number

# Keyed like vocabulary.CONSTANT_NAMES and FUNCTION_NAMES, in the same order (a test checks).
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}


@dataclass(frozen=True)
class Function:
    name: str
    min_args: int
    max_args: int | None  # None: any number
    apply: Callable[[WorkBudget, Sequence[Number]], Number]

    def check_arity(self, count: int) -> None:
        if count < self.min_args or (self.max_args is not None and count > self.max_args):
            if self.max_args is None:
                wanted = f"at least {self.min_args}"
            elif self.min_args == self.max_args:
                wanted = str(self.min_args)
            else:
                wanted = f"{self.min_args} to {self.max_args}"
            raise CalculationSyntaxError(
                f"{self.name}() takes {wanted} argument{'s' if wanted != '1' else ''}, got {count}"
            )


def _domain_error(name: str, arguments: Sequence[Number]) -> CalculationMathError:
    shown = ", ".join(short_text(argument) for argument in arguments)
    return CalculationMathError(f"{name}({shown}) is undefined (outside the function's domain)")


def _real_function(name: str, function: Callable[[float], float]) -> Function:
    """A one-argument math function, translating Python's 'math domain error'."""

    def apply(_: WorkBudget, arguments: Sequence[Number]) -> Number:
        try:
            return function(float(arguments[0]))
        except ValueError:
            raise _domain_error(name, arguments) from None

    return Function(name, 1, 1, apply)


def _as_integer(name: str, value: Number) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise CalculationMathError(f"{name}() needs whole numbers, got {short_text(value)}")


def _exact_root(value: int, degree: int) -> int | None:
    """The integer ``degree``-th root of ``value`` (>= 0) when there is one."""
    if degree == 2:
        root = math.isqrt(value)
    elif value.bit_length() <= 1_000:  # within float range: round the float cube root
        root = round(math.cbrt(value))
    else:
        return None
    return root if root**degree == value else None


def _sqrt(_: WorkBudget, arguments: Sequence[Number]) -> Number:
    (value,) = arguments
    if value < 0:
        raise CalculationMathError(f"sqrt({short_text(value)}) is not a real number")
    if isinstance(value, int):
        root = math.isqrt(value)
        if root * root == value:
            return root  # exact for perfect squares, whatever their size
        if value.bit_length() > 1_000:  # beyond float range: the integer root is exact enough
            return float(root)
    if isinstance(value, Fraction):
        top, bottom = _exact_root(value.numerator, 2), _exact_root(value.denominator, 2)
        if top is not None and bottom is not None:
            return Fraction(top, bottom)  # sqrt(0.25) is exactly 1/2
    return math.sqrt(value)


def _cbrt(_: WorkBudget, arguments: Sequence[Number]) -> Number:
    (value,) = arguments
    if isinstance(value, int | Fraction):
        top, bottom = abs(value.numerator), value.denominator
        top_root, bottom_root = _exact_root(top, 3), _exact_root(bottom, 3)
        if top_root is not None and bottom_root is not None:
            root = Fraction(top_root, bottom_root)
            return -root if value < 0 else root
    return math.cbrt(value)


def _log_of_fraction(value: Fraction, log: Callable[[float], float]) -> float:
    """``log(value)`` where ``float(value)`` may overflow or vanish (1 / 3**5000)."""
    try:
        approximation = float(value)
    except OverflowError:
        approximation = math.inf
    if 0 < approximation < math.inf:
        return log(approximation)
    if value <= 0:
        raise ValueError("math domain error")
    return log(value.numerator) - log(value.denominator)  # math.log* take big ints


def _logarithm(name: str, log: Callable[[float], float]) -> Callable[..., Number]:
    def apply(_: WorkBudget, arguments: Sequence[Number]) -> Number:
        try:
            logs = [
                _log_of_fraction(x, log) if isinstance(x, Fraction) else log(x) for x in arguments
            ]
            if len(logs) == 1:
                return logs[0]
            return logs[0] / logs[1]  # log(x, base)
        except (ValueError, ZeroDivisionError):
            raise _domain_error(name, arguments) from None

    return apply


def _round(budget: WorkBudget, arguments: Sequence[Number]) -> Number:
    value = arguments[0]
    if len(arguments) == 1:
        return round(value)
    digits = _as_integer("round", arguments[1])
    if abs(digits) > budget.limits.max_round_digits:
        raise CalculationLimitError(
            f"round(): digits must be within ±{budget.limits.max_round_digits}"
        )
    # Python's round, half to even; a fraction stays exact (round(2.567, 2) is 257/100).
    # The cast: the type checker cannot pick one of round's overloads for a union.
    return cast(Number, round(value, digits))


def _factorial(budget: WorkBudget, arguments: Sequence[Number]) -> Number:
    count = _as_integer("factorial", arguments[0])
    if count < 0:
        raise CalculationMathError("factorial() is undefined for negative numbers")
    if count > budget.limits.max_int_bits:
        # n! has more than n bits for n >= 6: over the cap without estimating further.
        budget.require_int_bits(count)
    # log2(n!) from the log-gamma function, known before multiplying anything.
    budget.require_int_bits(math.lgamma(count + 1) / math.log(2))
    return math.factorial(count)


def _gcd(_: WorkBudget, arguments: Sequence[Number]) -> Number:
    return math.gcd(*(_as_integer("gcd", argument) for argument in arguments))


def _lcm(budget: WorkBudget, arguments: Sequence[Number]) -> Number:
    result = 1
    for argument in arguments:
        value = _as_integer("lcm", argument)
        if value == 0:
            return 0
        common = math.gcd(result, value)
        budget.require_int_bits(result.bit_length() - common.bit_length() + value.bit_length() - 1)
        result = abs(result // common * value)
    return result


def _variadic(name: str, function: Callable[..., Number]) -> Function:
    return Function(name, 1, None, lambda _, arguments: function(*arguments))


def _abs(_: WorkBudget, arguments: Sequence[Number]) -> Number:
    (value,) = arguments
    return -value if value < 0 else value


def _floor(_: WorkBudget, arguments: Sequence[Number]) -> Number:
    return math.floor(arguments[0])


def _ceil(_: WorkBudget, arguments: Sequence[Number]) -> Number:
    return math.ceil(arguments[0])


FUNCTIONS: dict[str, Function] = {
    function.name: function
    for function in (
        Function("sqrt", 1, 1, _sqrt),
        Function("cbrt", 1, 1, _cbrt),
        _real_function("exp", math.exp),
        Function("ln", 1, 1, _logarithm("ln", math.log)),
        Function("log", 1, 2, _logarithm("log", math.log)),
        Function("log10", 1, 1, _logarithm("log10", math.log10)),
        Function("log2", 1, 1, _logarithm("log2", math.log2)),
        _real_function("sin", math.sin),
        _real_function("cos", math.cos),
        _real_function("tan", math.tan),
        _real_function("asin", math.asin),
        _real_function("acos", math.acos),
        _real_function("atan", math.atan),
        _real_function("degrees", math.degrees),
        _real_function("radians", math.radians),
        Function("abs", 1, 1, _abs),
        Function("round", 1, 2, _round),
        Function("floor", 1, 1, _floor),
        Function("ceil", 1, 1, _ceil),
        Function("factorial", 1, 1, _factorial),
        Function("gcd", 1, None, _gcd),
        Function("lcm", 1, None, _lcm),
        _variadic("hypot", math.hypot),
        _variadic("min", min),
        _variadic("max", max),
    )
}
