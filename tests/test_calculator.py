"""The calculator's pure evaluator: the language, exact results, errors and bounds."""

from __future__ import annotations

import ast
import contextlib
import math
import tracemalloc
from pathlib import Path

import pytest

from mcp_servers.calculator import evaluator, formatting, syntax
from mcp_servers.calculator.evaluator import (
    CalculationError,
    CalculationLimitError,
    CalculationMathError,
    CalculationSyntaxError,
    CalculatorLimits,
    evaluate_expression,
)


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4", 20),
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("7 % 3", 1),
        ("2 ** 10", 1024),
        ("-2 ** 2", -4),
        ("--3", 3),
        ("+-3", -3),
        ("10 / 2", 5),
        ("1 << 10", 1024),
        ("1024 >> 3", 128),
        ("2 ** 200", 2**200),
        ("123456789012345678901234567890 + 1", 123456789012345678901234567891),
        ("factorial(20)", 2432902008176640000),
        ("factorial(20) / factorial(18)", 380),
        ("gcd(12, 18, 27)", 3),
        ("lcm(4, 6, 10)", 60),
        ("abs(-5)", 5),
        ("min(3, 1, 2)", 1),
        ("max(3, 1, 2)", 3),
        ("round(2.5)", 2),
        ("round(3.7)", 4),
        ("floor(-2.5)", -3),
        ("ceil(2.1)", 3),
        ("sqrt(144)", 12),
        ("sqrt(10 ** 100)", 10**50),
        ("cbrt(27)", 3),
        ("cbrt(-8)", -2),
    ],
)
def test_integer_results_are_exact(expression: str, value: int) -> None:
    result = evaluate_expression(expression)
    assert result.value == value
    assert type(result.value) is int
    assert result.exact
    assert result.display == str(value)


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("1.5e3 * 2", 3000.0),
        ("2.5E-3", 0.0025),
        ("2 ** 0.5", math.sqrt(2)),
        ("sqrt(2)", math.sqrt(2)),
        ("exp(1)", math.e),
        ("ln(e)", 1.0),
        ("log(e ** 2)", 2.0),
        ("log(8, 2)", 3.0),
        ("log10(1000)", 3.0),
        ("log2(1024)", 10.0),
        ("sin(pi / 2)", 1.0),
        ("cos(0)", 1.0),
        ("tan(pi / 4)", math.tan(math.pi / 4)),
        ("asin(1)", math.pi / 2),
        ("acos(1)", 0.0),
        ("atan(1)", math.pi / 4),
        ("degrees(pi)", 180.0),
        ("radians(180)", math.pi),
        ("hypot(3, 4)", 5.0),
        ("tau / 2", math.pi),
    ],
)
def test_real_results(expression: str, value: float) -> None:
    result = evaluate_expression(expression)
    assert isinstance(result.value, float)
    assert result.value == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert not result.exact


@pytest.mark.parametrize(
    ("typed", "normalized", "value"),
    [
        ("2^10", "2 ** 10", 1024),
        ("3 × 4", "3 * 4", 12),
        ("12 ÷ 4", "12 / 4", 3),
        ("5 − 2", "5 - 2", 3),
        ("2(3+4)", "2 * (3 + 4)", 14),
        ("(1+2)(3+4)", "(1 + 2) * (3 + 4)", 21),
        ("2 sqrt(16)", "2 * sqrt(16)", 8),
        ("1,000 + 1", "1000 + 1", 1001),
        ("1,234,567 * 2", "1234567 * 2", 2469134),
        ("(1,000) * 3", "1000 * 3", 3000),
        ("max(1,000)", "max(1, 0)", 1),  # inside a call the comma separates arguments
        ("2 + 2 =", "2 + 2", 4),
        ("2²", "2 ** 2", 4),
    ],
)
def test_friendly_syntax(typed: str, normalized: str, value: int) -> None:
    result = evaluate_expression(typed)
    assert result.expression == normalized
    assert result.value == value


def test_constants_and_implicit_multiplication_with_names() -> None:
    assert evaluate_expression("2pi").value == pytest.approx(2 * math.pi)
    assert evaluate_expression("π").expression == "pi"
    assert evaluate_expression("2e").value == pytest.approx(2 * math.e)
    assert evaluate_expression("2e3").value == 2000.0  # scientific notation wins over 2*e*3


def test_display_of_floats_hides_binary_noise_and_keeps_integral_values_short() -> None:
    assert evaluate_expression("0.1 + 0.2").display == "0.3"
    assert evaluate_expression("1e5").display == "100000"
    assert evaluate_expression("1e20").display == "1e+20"
    assert evaluate_expression("1 / 3").display == "1/3 ≈ 0.333333333333333"
    assert evaluate_expression("-0.0").display == "0"


def test_huge_integers_are_shown_in_scientific_notation() -> None:
    result = evaluate_expression("2 ** 30000")
    assert result.display == "7.94090351913296e+9030"
    assert result.value is None  # beyond float range
    assert not result.exact
    assert evaluate_expression("10 ** 999").display == "1" + "0" * 999
    assert evaluate_expression("10 ** 1000").display == "1e+1000"
    assert evaluate_expression("-(10 ** 1000) * 7").display == "-7e+1000"


def test_square_roots_of_integers_beyond_float_range() -> None:
    assert evaluate_expression("sqrt(10**400 + 1)").display == "1e+200"
    assert evaluate_expression("sqrt(10**400)").value == 10**200  # perfect square: exact
    with pytest.raises(CalculationMathError, match="overflow"):
        evaluate_expression("sqrt(10**700 + 1)")


def test_only_ascii_digits_are_numbers() -> None:
    with pytest.raises(CalculationSyntaxError, match="unexpected character"):
        evaluate_expression("١٢ + 1")


def test_scientific_rounding_carries_into_a_new_digit() -> None:
    assert formatting.scientific(10**1200 - 1) == "1e+1200"
    assert formatting.scientific(123456789012345678 * 10**1100) == "1.23456789012346e+1117"


@pytest.mark.parametrize(
    ("expression", "error", "message"),
    [
        ("1 / 0", CalculationMathError, "division by zero"),
        ("1 // 0", CalculationMathError, "division by zero"),
        ("5 % 0", CalculationMathError, "division by zero"),
        ("0 ** -1", CalculationMathError, "division by zero"),
        ("sqrt(-1)", CalculationMathError, "not a real number"),
        ("(-8) ** (1/3)", CalculationMathError, "not a real number"),
        ("ln(0)", CalculationMathError, "ln(0) is undefined"),
        ("log(2, 1)", CalculationMathError, "log(2, 1) is undefined"),
        ("asin(2)", CalculationMathError, "asin(2) is undefined"),
        ("exp(1000)", CalculationMathError, "overflow"),
        ("10.0 ** 400.5", CalculationMathError, "overflow"),
        ("1e308 * 10", CalculationMathError, "overflow"),
        ("factorial(-1)", CalculationMathError, "negative"),
        ("factorial(2.5)", CalculationMathError, "whole numbers"),
        ("1.5 << 2", CalculationMathError, "integer"),
        ("1 << -1", CalculationMathError, "negative shift"),
        ("", CalculationSyntaxError, "empty"),
        ("2 +", CalculationSyntaxError, "syntax error"),
        ("(2 + 3", CalculationSyntaxError, "missing ')'"),
        ("2 + 3)", CalculationSyntaxError, "unexpected ')'"),
        ("1 2", CalculationSyntaxError, "missing operator"),
        ("1, 2", CalculationSyntaxError, "comma"),
        ("sqrt", CalculationSyntaxError, "is a function"),
        ("sqrt(1, 2)", CalculationSyntaxError, "takes 1 argument"),
        ("log(1, 2, 3)", CalculationSyntaxError, "takes 1 to 2 arguments"),
        ("max()", CalculationSyntaxError, "at least 1"),
        ("x + 1", CalculationSyntaxError, "unknown name 'x'"),
        ("1e999", CalculationLimitError, "too large"),
    ],
)
def test_errors_have_clear_messages(expression: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=None) as caught:
        evaluate_expression(expression)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "attack",
    [
        "__import__('os').system('echo pwned')",
        "open('/etc/passwd').read()",
        "().__class__.__bases__[0].__subclasses__()",
        "(1).__class__",
        "pi.real",
        "[1, 2][0]",
        "{'a': 1}",
        "'a' * 10",
        "b'x'",
        "lambda: 1",
        "1 if 1 else 2",
        "1 == 1",
        "1 < 2",
        "not 1",
        "1 and 2",
        "1 & 3",
        "1 | 2",
        "~1",
        "x := 1",
        "print(1)",
        "eval('1')",
        "exec('1')",
        "globals()",
        "sqrt.__call__(4)",
        "f'{1}'",
        "1; 2",
        "1j",
        "True + 1",
        "None",
        "...",
        "*[1]",
        "max(*[1, 2])",
        "round(2.5, ndigits=1)",
        "0x10",
        "\\N{DIGIT ONE}",
    ],
)
def test_nothing_but_arithmetic_is_accepted(attack: str) -> None:
    with pytest.raises(CalculationSyntaxError):
        evaluate_expression(attack)


def test_tree_checker_rejects_disallowed_nodes_even_if_tokens_were_bypassed() -> None:
    # Defence in depth: the allow-list walk alone rejects what the tokenizer normally stops.
    for source in ("(1).real", "[1][0]", "f(1)", "__import__", "1 if 2 else 3", "sqrt(x=1)"):
        with pytest.raises(CalculationSyntaxError):
            syntax.check_tree(ast.parse(source, mode="eval"), evaluator.DEFAULT_LIMITS)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("9**9**9", "result too large"),
        ("10**10**10", "result too large"),
        ("2 ** (2 ** 100)", "result too large"),
        ("factorial(10**6)", "result too large"),
        ("factorial(10**100)", "result too large"),
        ("1 << 10**9", "result too large"),
        ("lcm(2**20000, 3**12000)", "result too large"),
        ("(3**20000) * (3**20000)", "result too large"),
        ("round(1, -10**9)", "digits must be within"),
        ("(" * 100_000, "expression too long"),
        ("1" * 1_000_000, "expression too long"),
        ("1+" * 300 + "1", "more than 400 tokens"),
        ("(" * 41 + "1" + ")" * 41, "nested too deeply"),
        ("-" * 150 + "1", "nested too deeply"),
        ("+".join(["factorial(3000)"] * 60), "too expensive"),
    ],
    ids=lambda value: value[:40],
)
def test_worst_inputs_are_stopped_by_the_pre_checks(expression: str, message: str) -> None:
    with pytest.raises(CalculationLimitError) as caught:
        evaluate_expression(expression)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "expression",
    [
        "9**9**9",
        "10**10**10",
        "factorial(10**6)",
        "(" * 100_000,
        "x" * 1_000_000,
        "2 ** 33000 + 2 ** 33000",
        "+".join(["factorial(3000)"] * 60),
        "+".join(["(7**11000) // (3**10000 + 1)"] * 12),
    ],
    ids=lambda value: value[:40],
)
def test_worst_inputs_use_little_memory(expression: str) -> None:
    """Peak Python allocation while evaluating stays tiny: no huge number is ever built."""
    tracemalloc.start()
    with contextlib.suppress(CalculationError):
        evaluate_expression(expression)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2 * 1024 * 1024


def test_limits_are_enforced_exactly_at_the_configured_sizes() -> None:
    small = CalculatorLimits(max_int_bits=64)
    assert evaluate_expression("2 ** 63", small).value == 2**63  # 64 bits: allowed
    with pytest.raises(CalculationLimitError):
        evaluate_expression("2 ** 64", small)  # 65 bits: stopped before computing
    with pytest.raises(CalculationLimitError):
        evaluate_expression("factorial(21)", small)  # 21! needs 66 bits
    assert evaluate_expression("factorial(20)", small).value == math.factorial(20)
    with pytest.raises(CalculationLimitError):
        evaluate_expression("1 << 64", small)
    with pytest.raises(CalculationLimitError):
        evaluate_expression("2**40 * 2**40", small)
    with pytest.raises(CalculationLimitError):
        evaluate_expression("12345", CalculatorLimits(max_input_chars=4))
    with pytest.raises(CalculationLimitError):
        evaluate_expression("2**40 + 2**40", CalculatorLimits(max_work_bits=100))


def test_big_intermediate_results_are_exact_within_the_cap() -> None:
    result = evaluate_expression("factorial(1000) / factorial(998)")
    assert result.value == 999_000
    assert evaluate_expression("(2 ** 20000 + 1) % 7").value == (2**20000 + 1) % 7


def test_source_never_calls_eval_exec_or_compile() -> None:
    """No builtin that runs or compiles code is referenced anywhere in mcp_servers/."""
    forbidden = {"eval", "exec", "compile", "__import__", "literal_eval"}
    source_dir = Path(evaluator.__file__).parent.parent
    for path in source_dir.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
            is_re_compile = (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "re"
            )
            assert name not in forbidden or is_re_compile, f"{name} in {path}"
        assert "eval(" not in path.read_text(encoding="utf-8")
