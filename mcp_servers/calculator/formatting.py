"""How a computed value is reported: the ``Calculation`` record and its readable text.

An exact result is shown exactly: an integer in full, a fraction as a short decimal when it
terminates (``0.1 + 0.2`` → ``0.3``) or as ``numerator/denominator ≈ decimal`` when it does not
(``1/3`` → ``1/3 ≈ 0.333333333333333``). Numbers too long to show in full (more than
``max_display_digits`` digits in a part) get scientific notation, computed from the exact value
without converting it all to text, and are no longer marked exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from mcp_servers.calculator.limits import CalculatorLimits
from mcp_servers.calculator.values import Number

SIGNIFICANT_DIGITS = 15
# A terminating decimal with more places than this is shown in scientific notation.
_MAX_PLAIN_PLACES = 20


@dataclass(frozen=True)
class Calculation:
    """The outcome of one evaluation.

    ``exact`` says whether the result is known exactly; then ``numerator`` and ``denominator``
    hold it (``denominator`` is 1 for an integer). ``value`` is the result as a JSON number:
    the exact ``int`` for an integer, else the nearest ``float``, or ``None`` when the number
    does not fit a float. ``display`` always holds a printable rendering.
    """

    expression: str
    value: int | float | None
    display: str
    exact: bool
    numerator: int | None = None
    denominator: int | None = None


def describe(expression: str, value: Number, limits: CalculatorLimits) -> Calculation:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return Calculation(expression, value, str(int(value)), exact=False)
        return Calculation(expression, value, format(value, f".{SIGNIFICANT_DIGITS}g"), exact=False)
    numerator, denominator = value.numerator, value.denominator
    too_long = 10**limits.max_display_digits
    if abs(numerator) >= too_long or denominator >= too_long:
        shown = scientific(numerator, denominator)
        return Calculation(expression, _nearest_float(value), shown, exact=False)
    if denominator == 1:
        return Calculation(expression, numerator, str(numerator), True, numerator, 1)
    display = exact_decimal(numerator, denominator, limits.max_display_digits) or (
        f"{numerator}/{denominator} ≈ {approximation(numerator, denominator)}"
    )
    return Calculation(expression, _nearest_float(value), display, True, numerator, denominator)


def result_line(calculation: Calculation) -> str:
    """One line for people: ``2 ** 100 / 7 = 1267650600228229401496703205376/7 ≈ 1.81…e+29``."""
    relation = "=" if calculation.exact else "≈"
    return f"{calculation.expression} {relation} {calculation.display}"


def short_text(value: Number) -> str:
    """A number for an error message (``2.5``, ``1/3``), never thousands of digits long."""
    if isinstance(value, float):
        return str(value)
    numerator, denominator = value.numerator, value.denominator
    if max(abs(numerator), denominator).bit_length() >= 200:
        return "<big>"
    if denominator == 1:
        return str(numerator)
    return exact_decimal(numerator, denominator) or f"{numerator}/{denominator}"


def _nearest_float(value: int | Fraction) -> float | None:
    try:
        nearest = float(value)
    except OverflowError:
        return None
    return nearest if nearest != 0 else None  # 0.0 for a non-zero number would be a lie


def approximation(numerator: int, denominator: int) -> str:
    """``numerator/denominator`` to 15 significant digits, even beyond float range."""
    nearest = _nearest_float(Fraction(numerator, denominator))
    if nearest is not None and math.isfinite(nearest) and abs(nearest) >= 1e-300:
        return format(nearest, f".{SIGNIFICANT_DIGITS}g")
    return scientific(numerator, denominator)


def exact_decimal(numerator: int, denominator: int, max_digits: int = 1_000) -> str | None:
    """The fraction as an exact decimal (``0.25``, ``1.5e-400``), or None if it has none.

    A fraction in lowest terms has a terminating decimal exactly when its denominator is
    2**a * 5**b; it then has max(a, b) decimal places. Up to 20 places it is written out; with
    more, scientific notation when that is short, else written out if neither its places nor its
    digits number more than ``max_digits``.
    """
    twos = (denominator & -denominator).bit_length() - 1
    rest, fives = denominator >> twos, 0
    while rest % 5 == 0:
        rest //= 5
        fives += 1
    if rest != 1:
        return None
    places = max(twos, fives)
    # Exact, with no trailing zeros: in lowest terms the numerator lacks the factor (2 or 5)
    # that the denominator has more of.
    digits = abs(numerator) * 10**places // denominator
    sign = "-" if numerator < 0 else ""
    if places > _MAX_PLAIN_PLACES and digits < 10**SIGNIFICANT_DIGITS:
        significant = str(digits)
        exponent = len(significant) - 1 - places
        mantissa = significant[0] + ("." + significant[1:] if len(significant) > 1 else "")
        return f"{sign}{mantissa}e{exponent:+d}"
    if places > _MAX_PLAIN_PLACES and (places > max_digits or digits >= 10**max_digits):
        return None
    text = str(digits).rjust(places + 1, "0")
    return f"{sign}{text[:-places]}.{text[-places:]}"


def scientific(numerator: int, denominator: int = 1, significant: int = SIGNIFICANT_DIGITS) -> str:
    """``numerator/denominator`` as 1.23456789012346e+30102, without converting it all to text.

    Rounds half up on the exact value; works for integers (``denominator`` 1) of any size.
    """
    magnitude = abs(numerator)
    if magnitude == 0:
        return "0"
    # The decimal exponent from the bit lengths (off by at most one or two), then corrected by
    # exact comparisons: 10**exponent <= magnitude/denominator < 10**(exponent + 1).
    exponent = math.floor((magnitude.bit_length() - denominator.bit_length()) * math.log10(2))
    while not _at_least(magnitude, denominator, exponent):
        exponent -= 1
    while _at_least(magnitude, denominator, exponent + 1):
        exponent += 1
    shift = significant - 1 - exponent
    if shift >= 0:
        leading, remainder = divmod(magnitude * 10**shift, denominator)
        divisor = denominator
    else:
        divisor = denominator * 10**-shift
        leading, remainder = divmod(magnitude, divisor)
    if 2 * remainder >= divisor:
        leading += 1
    if leading >= 10**significant:  # rounding carried into a new digit: 9.99… -> 1.00…
        leading //= 10
        exponent += 1
    mantissa = str(leading).rstrip("0") or "0"
    mantissa = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    sign = "-" if numerator < 0 else ""
    return f"{sign}{mantissa}e{exponent:+d}"


def _at_least(magnitude: int, denominator: int, exponent: int) -> bool:
    """Whether magnitude/denominator >= 10**exponent, in exact integer arithmetic."""
    if exponent >= 0:
        return magnitude >= denominator * 10**exponent
    return magnitude * 10**-exponent >= denominator
