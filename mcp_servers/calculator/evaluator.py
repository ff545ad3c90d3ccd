"""A bounded arithmetic evaluator that never executes code.

The input goes through three gates before any number is computed:

1. ``_tokenize`` scans the raw text with one regular expression (length checked first), rewrites
   the friendly syntax people type (``^``, ``×``, ``÷``, ``2(3+4)``, ``1,000``) and rejects any
   name that is not a listed constant or function.
2. ``ast.parse`` turns the cleaned text into a syntax tree (parsing only, nothing is compiled
   or run), and ``_check_tree`` walks it iteratively against an allow-list of node types while
   counting nodes and depth.
3. ``_Evaluation`` walks the tree itself. Every operation whose cost grows with the size of its
   operands (powers, shifts, products, factorials, lcm) estimates the size of its result *before*
   computing it, every integer result is capped in bits, and the bits produced over the whole
   expression are summed against a work budget. Together these bound time and memory for any
   input without threads, signals or timeouts.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Number = int | float


@dataclass(frozen=True)
class CalculatorLimits:
    """Every bound the evaluator enforces; the defaults keep any input well under 100 ms."""

    max_input_chars: int = 1_000
    max_tokens: int = 400
    max_paren_depth: int = 40
    max_tree_depth: int = 100
    max_tree_nodes: int = 400
    # About 10,000 decimal digits: big enough for 2**10000 or factorial(3000), small enough
    # that multiplying two such numbers takes microseconds.
    max_int_bits: int = 33_220
    # Sum of the bit lengths of all integers produced while evaluating one expression.
    max_work_bits: int = 1_000_000
    # Integers with more digits are shown in scientific notation.
    max_display_digits: int = 1_000
    max_round_digits: int = 1_000


DEFAULT_LIMITS = CalculatorLimits()


class CalculationError(ValueError):
    """An expression that cannot be evaluated; the message is meant for the user."""


class CalculationSyntaxError(CalculationError):
    """The text is not a well-formed expression of the allowed language."""


class CalculationLimitError(CalculationError):
    """The input or a result would exceed one of the ``CalculatorLimits``."""


class CalculationMathError(CalculationError):
    """A well-formed expression with no real, finite value (1/0, sqrt(-1), overflow)."""


@dataclass(frozen=True)
class Calculation:
    """The outcome of one evaluation.

    ``value`` is an exact ``int`` when the result is an integer with at most
    ``max_display_digits`` digits, else a ``float`` approximation, or ``None`` when the number is
    too large even for a float; ``exact`` says whether ``value`` is the exact result.
    ``display`` always holds a printable rendering (scientific notation for huge integers).
    """

    expression: str
    value: int | float | None
    display: str
    exact: bool


CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}

# Characters people type for operators, mapped to the Python spelling before tokenizing.
_FRIENDLY_SPELLINGS = {
    "×": "*",
    "·": "*",
    "⋅": "*",
    "∗": "*",
    "÷": "/",
    "∕": "/",
    "−": "-",
    "–": "-",
    "^": "**",
    "π": " pi ",
    "τ": " tau ",
    "²": "**2",
    "³": "**3",
}
_FRIENDLY_RE = re.compile("|".join(re.escape(key) for key in _FRIENDLY_SPELLINGS))

_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
    # 1,000 or 12,345,678.9: only digit groups of exactly three after each comma.
    |(?P<grouped>\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d*)?(?:[eE][+-]?\d+)?)
    |(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<name>[A-Za-z_][A-Za-z_0-9]*)
    |(?P<op>\*\*|//|<<|>>|[-+*/%(),])
    """,
    re.VERBOSE | re.ASCII,  # ASCII digits and spaces only: what Python's parser accepts
)

ALLOWED_BINARY_OPS = (
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.LShift,
    ast.RShift,
)
_ALLOWED_UNARY_OPS = (ast.UAdd, ast.USub)
# Operator and context nodes are leaves that carry no value; they are allowed but not counted.
_MARKER_NODES = (*ALLOWED_BINARY_OPS, *_ALLOWED_UNARY_OPS, ast.Load)
_VALUE_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Call)


def evaluate_expression(text: str, limits: CalculatorLimits = DEFAULT_LIMITS) -> Calculation:
    """Evaluate ``text`` and return its normalized form, value and display string.

    Raises ``CalculationError`` (one of its subclasses) for anything that has no value.
    """
    if not isinstance(text, str):
        raise CalculationSyntaxError("the expression must be a string")
    if len(text) > limits.max_input_chars:
        raise CalculationLimitError(
            f"expression too long: {len(text):,} characters (limit {limits.max_input_chars:,})"
        )
    source = _tokenize(text, limits)
    tree = _parse(source)
    _check_tree(tree, limits)
    try:
        value = _Evaluation(limits).value_of(tree.body)
        return _describe(ast.unparse(tree.body), value, limits)
    except RecursionError:  # not reachable within the default limits; kept as a backstop
        raise CalculationLimitError("expression nested too deeply") from None


# --- gate 1: tokens ---------------------------------------------------------------------------


def _tokenize(text: str, limits: CalculatorLimits) -> str:
    """Return the expression as space-separated Python tokens, friendly syntax rewritten."""
    text = _FRIENDLY_RE.sub(lambda match: _FRIENDLY_SPELLINGS[match.group()], text).strip()
    text = text.removesuffix("=").strip()  # "2+2=" as typed into a pocket calculator
    if not text:
        raise CalculationSyntaxError("empty expression")

    tokens: list[str] = []
    kinds: list[str] = []
    # One entry per open parenthesis: True when it opens a function's argument list, where a
    # comma separates arguments; False for a grouping parenthesis, where "1,000" is a number.
    paren_is_call: list[bool] = []
    position = 0
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None:
            raise CalculationSyntaxError(
                f"unexpected character {text[position]!r} at position {position + 1}"
            )
        position = match.end()
        kind = match.lastgroup or ""
        token = match.group()
        if kind == "space":
            continue
        if kind == "grouped":
            if paren_is_call and paren_is_call[-1]:
                # Inside max(1,000) the comma separates arguments: split the group back up.
                for index, part in enumerate(token.split(",")):
                    if index:
                        _append_token(tokens, kinds, ",", "op", paren_is_call)
                    _append_token(tokens, kinds, part, "number", paren_is_call)
                continue
            token, kind = token.replace(",", ""), "number"
        if kind == "name" and token not in CONSTANTS and token not in FUNCTIONS:
            raise CalculationSyntaxError(f"unknown name {token!r}; {_KNOWN_NAMES}")
        _append_token(tokens, kinds, token, kind, paren_is_call)
        if len(tokens) > limits.max_tokens:
            raise CalculationLimitError(
                f"expression too long: more than {limits.max_tokens} tokens"
            )
        if len(paren_is_call) > limits.max_paren_depth:
            raise CalculationLimitError(
                f"expression nested too deeply: more than {limits.max_paren_depth} parentheses"
            )
    if paren_is_call:
        raise CalculationSyntaxError("unbalanced parentheses: missing ')'")
    return " ".join(tokens)


def _append_token(
    tokens: list[str], kinds: list[str], token: str, kind: str, paren_is_call: list[bool]
) -> None:
    previous, previous_kind = (tokens[-1], kinds[-1]) if tokens else ("", "")
    ends_value = previous_kind == "number" or previous in CONSTANTS or previous == ")"
    starts_value = kind in ("number", "name") or token == "("
    if ends_value and starts_value:
        if previous_kind == "number" and kind == "number":
            raise CalculationSyntaxError(f"missing operator between {previous} and {token}")
        # Implicit multiplication: 2(3+4), (1+2)(3+4), 2pi, 3sqrt(2).
        tokens.append("*")
        kinds.append("op")
        previous, previous_kind = "*", "op"
    if token == "(":
        paren_is_call.append(previous in FUNCTIONS)
    elif token == ")":
        if not paren_is_call:
            raise CalculationSyntaxError("unbalanced parentheses: unexpected ')'")
        paren_is_call.pop()
    elif token == "," and not (paren_is_call and paren_is_call[-1]):
        raise CalculationSyntaxError(
            "a comma is allowed only between function arguments or as a thousands separator (1,000)"
        )
    tokens.append(token)
    kinds.append(kind)


# --- gate 2: syntax tree ----------------------------------------------------------------------


def _parse(source: str) -> ast.Expression:
    try:
        return ast.parse(source, mode="eval")
    except SyntaxError as error:
        raise CalculationSyntaxError(f"syntax error: {error.msg}") from None
    except (ValueError, RecursionError, MemoryError):
        raise CalculationSyntaxError("syntax error: the expression cannot be parsed") from None


def _check_tree(tree: ast.Expression, limits: CalculatorLimits) -> None:
    """Reject any node outside the allow-list; bound the node count and depth (iteratively)."""
    node_count = 0
    pending: list[tuple[ast.AST, int]] = [(tree, 0)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, _MARKER_NODES):
            continue
        if not isinstance(node, _VALUE_NODES):
            raise CalculationSyntaxError(f"not allowed in an expression: {type(node).__name__}")
        node_count += 1
        if node_count > limits.max_tree_nodes:
            raise CalculationLimitError(
                f"expression too large: more than {limits.max_tree_nodes} terms"
            )
        if depth > limits.max_tree_depth:
            raise CalculationLimitError(
                f"expression nested too deeply: more than {limits.max_tree_depth} levels"
            )
        _check_node(node)
        # A call's function name was checked by _check_node; only its arguments are values.
        children = node.args if isinstance(node, ast.Call) else ast.iter_child_nodes(node)
        pending.extend((child, depth + 1) for child in children)


def _check_node(node: ast.AST) -> None:
    if isinstance(node, ast.BinOp) and not isinstance(node.op, ALLOWED_BINARY_OPS):
        raise CalculationSyntaxError(f"operator not allowed: {type(node.op).__name__}")
    if isinstance(node, ast.UnaryOp) and not isinstance(node.op, _ALLOWED_UNARY_OPS):
        raise CalculationSyntaxError(f"operator not allowed: {type(node.op).__name__}")
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            raise CalculationSyntaxError(f"not a number: {node.value!r}")
        if isinstance(node.value, float) and not math.isfinite(node.value):
            raise CalculationLimitError("number too large for a decimal value")
    if isinstance(node, ast.Name) and node.id not in CONSTANTS:
        if node.id in FUNCTIONS:
            raise CalculationSyntaxError(f"{node.id} is a function: call it like {node.id}(x)")
        raise CalculationSyntaxError(f"unknown name {node.id!r}; {_KNOWN_NAMES}")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise CalculationSyntaxError("only the listed functions can be called")
        if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
            raise CalculationSyntaxError(f"{node.func.id}() takes plain positional arguments")


# --- gate 3: bounded evaluation ---------------------------------------------------------------


class _Evaluation:
    """One walk over a checked tree, carrying the work budget spent so far."""

    def __init__(self, limits: CalculatorLimits) -> None:
        self.limits = limits
        self.work_bits = 0

    def value_of(self, node: ast.AST) -> Number:
        try:
            return self._value_of(node)
        except CalculationError:
            raise
        except ZeroDivisionError:
            raise CalculationMathError("division by zero") from None
        except OverflowError:
            raise CalculationMathError("overflow: the result is too large") from None
        except (ArithmeticError, ValueError, TypeError) as error:
            raise CalculationMathError(f"cannot evaluate: {error}") from None

    def _value_of(self, node: ast.AST) -> Number:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return self.checked(node.value)
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
            for operand in (left, right):
                if isinstance(operand, int):
                    self.charge(operand.bit_length())
            return self.checked(self._binary(node.op, left, right))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            function = FUNCTIONS[node.func.id]
            arguments = [self._value_of(arg) for arg in node.args]
            function.check_arity(len(arguments))
            for argument in arguments:  # isqrt, gcd and friends cost with their input's size
                if isinstance(argument, int):
                    self.charge(argument.bit_length())
            return self.checked(function.apply(self, arguments))
        raise CalculationSyntaxError(f"not allowed in an expression: {type(node).__name__}")

    def checked(self, value: Number) -> Number:
        """Cap every intermediate: integers in bits (and in total work), floats to finite."""
        if isinstance(value, int):
            bits = value.bit_length()
            self.require_int_bits(bits)
            self.charge(bits)
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise CalculationMathError("overflow: the result is too large")
            return 0.0 if value == 0 else value  # no "-0"
        raise CalculationMathError("the result is not a real number")

    def charge(self, bits: int) -> None:
        self.work_bits += bits
        if self.work_bits > self.limits.max_work_bits:
            raise CalculationLimitError("expression too expensive: too much big-number work")

    def require_int_bits(self, bits: float) -> None:
        if bits > self.limits.max_int_bits:
            raise CalculationLimitError(
                f"result too large: about {_approx_digits(bits)} digits "
                f"(limit about {_approx_digits(self.limits.max_int_bits)} digits)"
            )

    def _binary(self, op: ast.operator, left: Number, right: Number) -> Number:
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            if isinstance(left, int) and isinstance(right, int):
                self.require_int_bits(left.bit_length() + right.bit_length() - 1)
            return left * right
        if isinstance(op, ast.Div):
            if isinstance(left, int) and isinstance(right, int) and right and not left % right:
                return left // right  # exact: 10/2 stays the integer 5
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
        if isinstance(base, int) and isinstance(exponent, int):
            if exponent < 0:
                if base == 0:
                    raise CalculationMathError("division by zero: 0 to a negative power")
                return float(base) ** exponent
            if base in (0, 1) or exponent in (0, 1):
                return base**exponent
            if base == -1:
                return 1 if exponent % 2 == 0 else -1
            # Size of the result in bits, known before computing it: 9**9**9 stops here.
            # (|base| >= 2, so the result has at least `exponent` bits.)
            self.require_int_bits(exponent)
            self.require_int_bits(math.floor(exponent * math.log2(abs(base))) + 1)
            return base**exponent
        if base < 0 and not float(exponent).is_integer():
            raise CalculationMathError(
                "a negative number to a fractional power is not a real number"
            )
        result = float(base) ** float(exponent)
        return result

    def _shift(self, op: ast.operator, value: Number, count: Number) -> int:
        if not isinstance(value, int) or not isinstance(count, int):
            raise CalculationMathError("shifts need integer operands")
        if count < 0:
            raise CalculationMathError("negative shift count")
        if isinstance(op, ast.RShift):
            return value >> count if count <= value.bit_length() else (-1 if value < 0 else 0)
        if value == 0:
            return 0
        self.require_int_bits(value.bit_length() + count)
        return value << count


# --- functions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Function:
    name: str
    min_args: int
    max_args: int | None  # None: any number
    apply: Callable[[_Evaluation, Sequence[Number]], Number]

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
    shown = ", ".join(_short(argument) for argument in arguments)
    return CalculationMathError(f"{name}({shown}) is undefined (outside the function's domain)")


def _short(value: Number) -> str:
    text = str(value) if not isinstance(value, int) or value.bit_length() < 200 else "<big>"
    return text


def _real_function(name: str, function: Callable[[float], float]) -> _Function:
    """A one-argument math function, translating Python's 'math domain error'."""

    def apply(_: _Evaluation, arguments: Sequence[Number]) -> Number:
        try:
            return function(arguments[0])
        except ValueError:
            raise _domain_error(name, arguments) from None

    return _Function(name, 1, 1, apply)


def _as_integer(name: str, value: Number) -> int:
    if isinstance(value, int):
        return value
    if value.is_integer():
        return int(value)
    raise CalculationMathError(f"{name}() needs whole numbers, got {value}")


def _sqrt(_: _Evaluation, arguments: Sequence[Number]) -> Number:
    (value,) = arguments
    if value < 0:
        raise CalculationMathError(f"sqrt({_short(value)}) is not a real number")
    if isinstance(value, int):
        root = math.isqrt(value)
        if root * root == value:
            return root  # exact for perfect squares, whatever their size
        if value.bit_length() > 1_000:  # beyond float range: the integer root is exact enough
            return float(root)
    return math.sqrt(value)


def _cbrt(_: _Evaluation, arguments: Sequence[Number]) -> Number:
    (value,) = arguments
    root = math.cbrt(value)
    if isinstance(value, int):
        whole = round(root)
        if whole**3 == value:
            return whole
    return root


def _logarithm(name: str) -> Callable[[_Evaluation, Sequence[Number]], Number]:
    def apply(_: _Evaluation, arguments: Sequence[Number]) -> Number:
        try:
            return math.log(*arguments)  # natural log, or log to the given base
        except (ValueError, ZeroDivisionError):
            raise _domain_error(name, arguments) from None

    return apply


def _round(evaluation: _Evaluation, arguments: Sequence[Number]) -> Number:
    if len(arguments) == 1:
        return round(arguments[0])
    digits = _as_integer("round", arguments[1])
    if abs(digits) > evaluation.limits.max_round_digits:
        raise CalculationLimitError(
            f"round(): digits must be within ±{evaluation.limits.max_round_digits}"
        )
    return round(arguments[0], digits)


def _factorial(evaluation: _Evaluation, arguments: Sequence[Number]) -> Number:
    count = _as_integer("factorial", arguments[0])
    if count < 0:
        raise CalculationMathError("factorial() is undefined for negative numbers")
    if count > evaluation.limits.max_int_bits:
        # n! has more than n bits for n >= 6: over the cap without estimating further.
        evaluation.require_int_bits(count)
    # log2(n!) from the log-gamma function, known before multiplying anything.
    evaluation.require_int_bits(math.lgamma(count + 1) / math.log(2))
    return math.factorial(count)


def _gcd(_: _Evaluation, arguments: Sequence[Number]) -> Number:
    return math.gcd(*(_as_integer("gcd", argument) for argument in arguments))


def _lcm(evaluation: _Evaluation, arguments: Sequence[Number]) -> Number:
    result = 1
    for argument in arguments:
        value = _as_integer("lcm", argument)
        if value == 0:
            return 0
        common = math.gcd(result, value)
        evaluation.require_int_bits(
            result.bit_length() - common.bit_length() + value.bit_length() - 1
        )
        result = abs(result // common * value)
    return result


def _variadic(name: str, function: Callable[..., Number]) -> _Function:
    return _Function(name, 1, None, lambda _, arguments: function(*arguments))


FUNCTIONS: dict[str, _Function] = {
    function.name: function
    for function in (
        _Function("sqrt", 1, 1, _sqrt),
        _Function("cbrt", 1, 1, _cbrt),
        _real_function("exp", math.exp),
        _Function("ln", 1, 1, _logarithm("ln")),
        _Function("log", 1, 2, _logarithm("log")),
        _real_function("log10", math.log10),
        _real_function("log2", math.log2),
        _real_function("sin", math.sin),
        _real_function("cos", math.cos),
        _real_function("tan", math.tan),
        _real_function("asin", math.asin),
        _real_function("acos", math.acos),
        _real_function("atan", math.atan),
        _real_function("degrees", math.degrees),
        _real_function("radians", math.radians),
        _Function("abs", 1, 1, lambda _, arguments: abs(arguments[0])),
        _Function("round", 1, 2, _round),
        _Function("floor", 1, 1, lambda _, arguments: math.floor(arguments[0])),
        _Function("ceil", 1, 1, lambda _, arguments: math.ceil(arguments[0])),
        _Function("factorial", 1, 1, _factorial),
        _Function("gcd", 1, None, _gcd),
        _Function("lcm", 1, None, _lcm),
        _variadic("hypot", math.hypot),
        _variadic("min", min),
        _variadic("max", max),
    )
}

_KNOWN_NAMES = f"known constants: {', '.join(CONSTANTS)}; functions: {', '.join(sorted(FUNCTIONS))}"


# --- display ----------------------------------------------------------------------------------


def _approx_digits(bits: float) -> str:
    try:
        return f"{math.floor(bits * math.log10(2)) + 1:,}"
    except OverflowError:
        return "more than 10**300"


def _describe(expression: str, value: Number, limits: CalculatorLimits) -> Calculation:
    if isinstance(value, int):
        if abs(value) < 10**limits.max_display_digits:
            return Calculation(expression, value, str(value), exact=True)
        try:
            approximation: float | None = float(value)
        except OverflowError:
            approximation = None
        return Calculation(expression, approximation, _scientific(value), exact=False)
    if value.is_integer() and abs(value) < 1e16:
        return Calculation(expression, value, str(int(value)), exact=False)
    return Calculation(expression, value, format(value, ".15g"), exact=False)


def _scientific(value: int, significant: int = 15) -> str:
    """Render a huge integer as 1.23456789012346e+30102 without converting it all to text."""
    magnitude = abs(value)
    # Digit count from the bit length, corrected by one comparison (the estimate can be 1 low).
    digits = math.floor((magnitude.bit_length() - 1) * math.log10(2)) + 1
    if magnitude >= 10**digits:
        digits += 1
    scale = 10 ** (digits - significant)
    leading, remainder = divmod(magnitude, scale)
    if 2 * remainder >= scale:
        leading += 1
    if leading >= 10**significant:  # rounding carried into a new digit: 9.99… -> 1.00…
        leading //= 10
        digits += 1
    mantissa = str(leading).rstrip("0") or "0"
    mantissa = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    sign = "-" if value < 0 else ""
    return f"{sign}{mantissa}e+{digits - 1}"
