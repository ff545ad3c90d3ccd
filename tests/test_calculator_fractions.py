"""Exact arithmetic: division, decimals and powers stay fractions within the size budget."""

from __future__ import annotations

import contextlib
import math
import time
import tracemalloc
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest

from mcp_servers.calculator.evaluator import (
    CalculationError,
    CalculationLimitError,
    CalculationMathError,
    CalculatorLimits,
    evaluate_expression,
    result_line,
)


def test_a_big_integer_over_seven_is_an_exact_fraction() -> None:
    result = evaluate_expression("2^100 / 7")
    assert result.exact
    assert (result.numerator, result.denominator) == (2**100, 7)
    assert result.value == pytest.approx(2**100 / 7, rel=1e-15)
    assert result.display == f"{2**100}/7 ≈ 1.81092942889747e+29"
    assert result_line(result) == f"2 ** 100 / 7 = {2**100}/7 ≈ 1.81092942889747e+29"


@pytest.mark.parametrize(
    ("expression", "exact"),
    [
        ("1 / 4", Fraction(1, 4)),
        ("0.1 + 0.2", Fraction(3, 10)),
        ("0.1 + 0.2 - 0.3", 0),
        (".5 + 1.", Fraction(3, 2)),
        ("2 ** -2", Fraction(1, 4)),
        ("(2/3) ** 3", Fraction(8, 27)),
        ("(1/2) ** -3", 8),
        ("(-2/3) ** -3", Fraction(-27, 8)),
        ("10 / 4 * 2", 5),
        ("1/3 + 2/3", 1),
        ("7.5 // 2", 3),
        ("7.5 % 2", Fraction(3, 2)),
        ("-7 / 2", Fraction(-7, 2)),
        ("round(2.567, 2)", Fraction(257, 100)),
        ("round(7/2)", 4),
        ("floor(-7/2)", -4),
        ("ceil(7/2)", 4),
        ("abs(-1/3)", Fraction(1, 3)),
        ("max(1/3, 0.3)", Fraction(1, 3)),
        ("min(1/3, 0.3)", Fraction(3, 10)),
        ("sqrt(0.25)", Fraction(1, 2)),
        ("sqrt(9/16)", Fraction(3, 4)),
        ("cbrt(-0.125)", Fraction(-1, 2)),
        ("12% of 3400".replace("% of", "/100*"), 408),
        ("1,000.5 * 2", 2001),
    ],
)
def test_exact_numbers_stay_exact(expression: str, exact: Fraction | int) -> None:
    result = evaluate_expression(expression)
    assert result.exact
    assert result.numerator is not None and result.denominator is not None
    assert Fraction(result.numerator, result.denominator) == exact
    assert result.denominator > 0
    if isinstance(exact, int):
        assert type(result.value) is int and result.value == exact
        assert result.display == str(exact)
    else:
        assert result.value == float(exact)


@pytest.mark.parametrize(
    ("expression", "display"),
    [
        ("0.1 + 0.2", "0.3"),
        ("1 / 8", "0.125"),
        ("-7 / 2", "-3.5"),
        ("1 / 3", "1/3 ≈ 0.333333333333333"),
        ("-2 / 3", "-2/3 ≈ -0.666666666666667"),
        ("10 ** -400", "1e-400"),
        ("1 / (4 * 10 ** 400)", "2.5e-401"),
        ("2 ** -50", "0.00000000000000088817841970012523233890533447265625"),
        ("(10 ** 30 + 1) / 4", "250000000000000000000000000000.25"),
    ],
)
def test_exact_fractions_are_shown_as_decimals_when_they_terminate(
    expression: str, display: str
) -> None:
    result = evaluate_expression(expression)
    assert result.display == display
    assert result.exact


def test_fractions_beyond_float_range_keep_an_accurate_approximation() -> None:
    result = evaluate_expression("1 / 3 ** 700")
    assert result.exact and result.value is None  # too small for a float: no fake 0.0
    shown, approximation = result.display.split(" ≈ ")
    assert shown == f"1/{3**700}"
    with localcontext() as context:
        context.prec = 40
        truth = Decimal(1) / Decimal(3**700)
        assert abs(Decimal(approximation) / truth - 1) < Decimal("1e-14")


def test_fractions_with_parts_too_long_to_show_are_approximations() -> None:
    result = evaluate_expression("(2 ** 30000 + 1) / 3 ** 20000")
    assert not result.exact
    assert result.numerator is None and result.denominator is None
    assert result.value is None
    assert result.display == "2.98383996274928e-512"


@pytest.mark.parametrize(
    "expression",
    ["sqrt(2)", "1.5e-3 * 2", "2 ** 0.5", "1/3 + sqrt(2)", "0.1 + 1e-1", "ln(2)", "pi / 2"],
)
def test_floats_come_only_from_functions_constants_and_scientific_notation(
    expression: str,
) -> None:
    result = evaluate_expression(expression)
    assert isinstance(result.value, float)
    assert not result.exact
    assert result.numerator is None and result.denominator is None
    assert result_line(result).startswith(f"{result.expression} ≈ ")


def test_decimal_literals_are_exact_as_written() -> None:
    third = "0." + "3" * 997
    result = evaluate_expression(third)
    assert result.exact and result.display == third
    assert Fraction(result.numerator or 0, result.denominator or 1) == Fraction(third)
    big = "1" * 400 + ".5"
    result = evaluate_expression(big + " * 2")
    assert result.expression == big + " * 2"  # not the float Python reads (1e309)
    assert result.value == int("1" * 400) * 2 + 1
    assert evaluate_expression(".5 + 1.").expression == "0.5 + 1.0"


def test_logarithms_of_tiny_fractions() -> None:
    result = evaluate_expression("ln(1 / 3 ** 3000)")
    assert result.value == pytest.approx(-3000 * math.log(3), rel=1e-12)


@pytest.mark.parametrize(
    ("expression", "error", "message"),
    [
        ("factorial(2.5)", CalculationMathError, "needs whole numbers, got 2.5"),
        ("gcd(1/2, 3)", CalculationMathError, "whole numbers"),
        ("(1/2) << 1", CalculationMathError, "integer operands"),
        ("(-1/8) ** (1/3)", CalculationMathError, "not a real number"),
        ("1 / (1/2 - 0.5)", CalculationMathError, "division by zero"),
        ("(1/3) % 0", CalculationMathError, "division by zero"),
        ("(1/3) // 0", CalculationMathError, "division by zero"),
        ("(0/3) ** -1", CalculationMathError, "division by zero"),
        ("sqrt(-1/4)", CalculationMathError, "sqrt(-0.25) is not a real number"),
        ("ln(-1/3)", CalculationMathError, "ln(-1/3) is undefined"),
    ],
)
def test_fraction_errors_have_clear_messages(
    expression: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        evaluate_expression(expression)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("(1/3) ** 100000", "result too precise: a denominator of about 30,103 digits"),
        ("2 ** -40000", "result too precise"),
        ("(1/3) ** (2 ** 100)", "result too precise"),
        ("(3/2) ** 30000", "result too large"),
        ("+".join(f"1/(3**{9000 + i} + {i})" for i in range(8)), "result too precise"),
        ("(2**33000 - 1)/3**20000 * ((3**20000 + 1)/(2**33000 - 3))", "result too large"),
        ("+".join(["(7**11000)/(3**10000 + 1)"] * 12), "too expensive"),
        ("+".join(["round(1/3, 1000)"] * 40), "too expensive"),
    ],
    ids=lambda value: value[:40],
)
def test_huge_numerators_and_denominators_hit_the_limits(expression: str, message: str) -> None:
    with pytest.raises(CalculationLimitError) as caught:
        evaluate_expression(expression)
    assert message in str(caught.value)


def test_fraction_limits_are_enforced_exactly_at_the_configured_sizes() -> None:
    small = CalculatorLimits(max_int_bits=64)
    assert evaluate_expression("1 / 2**63", small).denominator == 2**63  # 64 bits: allowed
    with pytest.raises(CalculationLimitError, match="too precise"):
        evaluate_expression("(1/2) ** 64", small)  # a 65-bit denominator, refused beforehand
    with pytest.raises(CalculationLimitError, match="too precise"):
        evaluate_expression("1 / 2**63 / 2", small)
    assert evaluate_expression("(2**63) / 3", small).numerator == 2**63
    with pytest.raises(CalculationLimitError, match="too large"):
        evaluate_expression("(2**63) / 3 * 2", small)


@pytest.mark.parametrize(
    "expression",
    [
        "+".join(["(7**11000)/(3**10000 + 1)"] * 12),
        "+".join(["((7**11000)/(3**10000+1)) % ((5**14000+1)/(11**9000+7))"] * 10),
        "+".join(["((7**11000)/(3**10000+1)) // ((5**14000+1)/(11**9000+7))"] * 10),
        "+".join(["(2/3)**12000"] * 20),
        "+".join(["sqrt((3**20000)/(7**11000))"] * 20),
        "+".join(["ln(1/3**20000)"] * 20),
        "(1/3) ** 100000",
    ],
    ids=lambda value: value[:40],
)
def test_worst_fraction_inputs_are_cheap(expression: str) -> None:
    """Peak allocation stays tiny and CPU time far under a second (it is a few ms)."""
    tracemalloc.start()
    started = time.process_time()
    with contextlib.suppress(CalculationError):
        evaluate_expression(expression)
    cpu_s = time.process_time() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2 * 1024 * 1024
    assert cpu_s < 1.0
