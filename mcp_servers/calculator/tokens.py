"""Gate 1: scan the raw text into Python tokens, rewriting the friendly syntax people type.

``^`` ``×`` ``÷`` become ``**`` ``*`` ``/``, ``2(3+4)`` and ``2pi`` gain their implicit ``*``,
``1,000`` loses its thousands separator, and any character or name outside the language is
refused here, before anything is parsed.
"""

from __future__ import annotations

import re

from mcp_servers.calculator.errors import CalculationLimitError, CalculationSyntaxError
from mcp_servers.calculator.limits import CalculatorLimits
from mcp_servers.calculator.vocabulary import CONSTANT_NAMES, FUNCTION_NAMES

KNOWN_NAMES_HINT = (
    f"known constants: {', '.join(CONSTANT_NAMES)}; functions: {', '.join(sorted(FUNCTION_NAMES))}"
)

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

_CONSTANTS = frozenset(CONSTANT_NAMES)
_FUNCTIONS = frozenset(FUNCTION_NAMES)


def tokenize(text: str, limits: CalculatorLimits) -> str:
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
        if kind == "name" and token not in _CONSTANTS and token not in _FUNCTIONS:
            raise CalculationSyntaxError(f"unknown name {token!r}; {KNOWN_NAMES_HINT}")
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
    ends_value = previous_kind == "number" or previous in _CONSTANTS or previous == ")"
    starts_value = kind in ("number", "name") or token == "("
    if ends_value and starts_value:
        if previous_kind == "number" and kind == "number":
            raise CalculationSyntaxError(f"missing operator between {previous} and {token}")
        # Implicit multiplication: 2(3+4), (1+2)(3+4), 2pi, 3sqrt(2).
        tokens.append("*")
        kinds.append("op")
        previous, previous_kind = "*", "op"
    if token == "(":
        paren_is_call.append(previous in _FUNCTIONS)
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
