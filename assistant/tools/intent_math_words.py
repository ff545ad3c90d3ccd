"""Arithmetic said in words (English, Polish, Russian) rewritten into the calculator's syntax.

Two rule lists. ``SYMBOL_RULES`` turn words that can only mean arithmetic when they sit
between numbers ("17 times 23", "12 razy 12", "2 в степени 20", "5 factorial", "cube root of
27") into operators and function calls; they are safe inside longer text. ``QUESTION_RULES``
read a whole request ("take 90 away from 250", "split 1,200 between 7", "double 384"); in the
middle of prose the same words are ordinary language, so they apply only to a clause that is
nothing but the question. Nothing is evaluated here: the output is text for ``ast.parse``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

_NUMBER = r"(?:\d+(?:\.\d+)?|\.\d+)(?:e[-+]?\d+)?"
_N = rf"(-?{_NUMBER})"
# A value a spoken function applies to: a number, a constant, or a parenthesised group.
_VALUE = rf"-?{_NUMBER}|pi|tau|e|\([^()]*\)"
_ARG = rf"({_VALUE})"
# A unit after a number in a word problem ("2,400 tokens", "16 batches").
_UNIT = r"(?:\s+[^\W\d_]{2,14}){0,2}?"

Replacement = str | Callable[[re.Match[str]], str]
Rule = tuple[re.Pattern[str], Replacement]


def _rules(pairs: Sequence[tuple[str, Replacement]]) -> list[Rule]:
    return [(re.compile(pattern, re.IGNORECASE), replacement) for pattern, replacement in pairs]


# Spoken function names → the calculator's (longest names first, so "cube root" wins).
_FUNCTION_WORDS = {
    "square root": "sqrt", "cube root": "cbrt", "natural logarithm": "ln", "natural log": "ln",
    "logarithm": "log", "absolute value": "abs", "exponential": "exp", "sine": "sin",
    "cosine": "cos", "tangent": "tan", "ceiling": "ceil", "factorial": "factorial",
    "pierwiastek kwadratowy": "sqrt", "pierwiastek sześcienny": "cbrt", "pierwiastek": "sqrt",
    "logarytm naturalny": "ln", "logarytm": "log", "wartość bezwzględna": "abs",
    "silnia": "factorial", "sinus": "sin", "cosinus": "cos",
    "квадратный корень": "sqrt", "кубический корень": "cbrt", "корень": "sqrt",
    "натуральный логарифм": "ln", "логарифм": "log", "факториал": "factorial", "модуль": "abs",
    "синус": "sin", "косинус": "cos", "экспонента": "exp",
    "sqrt": "sqrt", "cbrt": "cbrt", "root": "sqrt", "ln": "ln", "log2": "log2",
    "log10": "log10", "log": "log", "exp": "exp", "sin": "sin", "cos": "cos", "tan": "tan",
    "abs": "abs", "floor": "floor", "ceil": "ceil",
}  # fmt: skip
_FUNCTION_ALTERNATION = "|".join(
    re.escape(word).replace(r"\ ", r"\s+")
    for word in sorted(_FUNCTION_WORDS, key=len, reverse=True)
)
_TWO_ARGUMENT_WORDS = {
    "gcd": "gcd", "greatest common divisor": "gcd", "nwd": "gcd", "нод": "gcd",
    "lcm": "lcm", "least common multiple": "lcm", "nww": "lcm", "нок": "lcm",
    "max": "max", "maximum": "max", "min": "min", "minimum": "min",
}  # fmt: skip
_TWO_ARGUMENT_ALTERNATION = "|".join(
    re.escape(word).replace(r"\ ", r"\s+")
    for word in sorted(_TWO_ARGUMENT_WORDS, key=len, reverse=True)
)


def function_name(spoken: str) -> str:
    """The calculator's name for a spoken function ("cube root" → "cbrt")."""
    key = " ".join(spoken.lower().split())
    return _FUNCTION_WORDS.get(key) or _TWO_ARGUMENT_WORDS[key]


def _call(match: re.Match[str]) -> str:
    return f"{function_name(match['f'])}({match['x']})"


def _two_argument_call(match: re.Match[str]) -> str:
    return f"{function_name(match['f'])}({match['a']}, {match['b']})"


# Written forms that are always arithmetic: symbols, separators and superscripts.
_PREPARE = _rules(
    [
        (r"(?<=\d),(?=\d{3}(?!\d))", ""),  # 3,400 → 3400 (a thousands separator)
        (r"[×·]", " * "),
        (r"÷", " / "),
        (r"(?<=[\d\s])[−–](?=[\s\d])", "-"),
        (r"(?<![\w.])(\d+(?:\.\d+)?)\s+(?:thousand|tysi[ąęc]\w*|тысяч\w*)\b", r"\1e3"),
        (r"(?<![\w.])(\d+(?:\.\d+)?)\s+(?:million|mln|milion\w*|миллион\w*)(?![\w.])", r"\1e6"),
        (r"(?<![\w.])(\d+(?:\.\d+)?)\s+(?:billion|mld|miliard\w*|миллиард\w*)(?![\w.])", r"\1e9"),
        (r"(?<![\w.])(\d+(?:\.\d+)?)\s+(?:trillion|bilion\w*|триллион\w*)(?![\w.])", r"\1e12"),
        (r"(?<![\w./])(\d+\s*/\s*\d+)\s+(?:of|z|от)\s+(?=[-\d(.])", r"(\1)*"),
        (r"²", " ** 2"),
        (r"³", " ** 3"),
    ]
)

_LOG_BASE = [
    # "log base 2 of 4096", "log of 4096 base 2", "log to base 2 of 8", "log_2(8)"
    (rf"\blog(?:arithm)?\s+(?:to\s+)?(?:the\s+)?base\s+{_N}\s+(?:of\s+)?{_ARG}", r"log(\2, \1)"),
    (rf"\blog(?:arithm)?\s+(?:of\s+)?{_ARG}\s+(?:to\s+)?(?:the\s+)?base\s+{_N}", r"log(\1, \2)"),
    (rf"\blog_{_N}\s*(?:of\s+)?{_ARG}", r"log(\2, \1)"),
    (rf"\blogarytm\s+o\s+podstawie\s+{_N}\s+z\s+{_ARG}", r"log(\2, \1)"),
    (rf"\bлогарифм\s+{_ARG}\s+по\s+основанию\s+{_N}", r"log(\1, \2)"),
]

SYMBOL_RULES: list[Rule] = [
    *_PREPARE,
    *_rules(_LOG_BASE),
    # "the factorial of 6", "5 factorial", "silnia z 5", "5 silnia", "факториал 5"
    (
        re.compile(rf"\b(?:factorial\s+of|silnia\s+z|факториал)\s+{_N}(?!\s*[\d.])", re.I),
        r"factorial(\1)",
    ),
    (re.compile(rf"{_N}\s+(?:factorial|silnia|факториал)\b", re.I), r"factorial(\1)"),
    # "gcd of 48 and 180", "NWD 12 i 18"
    (
        re.compile(
            rf"\b(?P<f>{_TWO_ARGUMENT_ALTERNATION})\s+(?:of\s+|z\s+|из\s+)?"
            rf"(?P<a>-?{_NUMBER})\s*(?:and|,|i|и)\s*(?P<b>-?{_NUMBER})",
            re.I,
        ),
        _two_argument_call,
    ),
    # "cube root of 27", "pierwiastek z 81", "корень из 169"
    (
        re.compile(
            rf"(?<![\w(])(?P<f>{_FUNCTION_ALTERNATION})\s+(?:of|from|z|ze|из|от)\s+"
            rf"(?P<x>{_VALUE})(?![\w.(])",
            re.I,
        ),
        _call,
    ),
    # "sqrt 2", "ln 10": names that are nothing but function names ("log 5 runs" is prose)
    (
        re.compile(rf"(?<![\w(])(?P<f>sqrt|cbrt|ln|log2|log10)\s+(?P<x>{_VALUE})(?![\w.(])", re.I),
        _call,
    ),
    (re.compile(r"\bsquare\s+root\s*\(", re.I), "sqrt("),
    (re.compile(r"\bcube\s+root\s*\(", re.I), "cbrt("),
    *_rules(
        [
            (rf"{_N}\s*(?:%|\s+percent|\s+procent\w*|\s+процент\w*)\s+(?:of|z|от)\s+", r"\1/100*"),
            (
                r"\s+(?:multiplied\s+(?:by|with)|times|razy|pomno[żz]one\s+przez|"
                r"pomno[żz]y[ćc]\s+przez|умнож\w*\s+на|помнож\w*\s+на)\s+",
                " * ",
            ),
            (
                r"\s+(?:divided\s+(?:evenly\s+)?by|podzielone\s+przez|podzieli[ćc]\s+przez|"
                r"(?:раздел|подел|дел)[её]?\w*\s+на)\s+",
                " / ",
            ),
            (
                r"(?<=[\d)e])\s+(?:to\s+the\s+power(?:\s+of)?|raised\s+to(?:\s+the\s+power"
                r"(?:\s+of)?)?|to\s+the|do\s+pot[eę]gi|в\s+степени)\s+",
                " ** ",
            ),
            (r"(?<=[\d)])\s+(?:squared|do\s+kwadratu|в\s+квадрате)\b", " ** 2"),
            (r"(?<=[\d)])\s+(?:cubed|do\s+sze[śs]cianu|в\s+кубе)\b", " ** 3"),
            (
                r"(?:(?<=[\d)])|(?<=pi)|(?<=tau))\s+(?:plus|dodać|плюс|прибавить)\s+"
                r"(?=[-\d(.]|pi\b|[a-z]+\()",
                " + ",
            ),
            (
                r"(?:(?<=[\d)])|(?<=pi)|(?<=tau))\s+(?:minus|odjąć|минус|отнять|вычесть)\s+"
                r"(?=[-\d(.]|pi\b|[a-z]+\()",
                " - ",
            ),
            (r"(?<=\d)\s+mod(?:ulo)?\s+(?=\d)", " % "),
            (r"\bthe\s+", ""),
        ]
    ),
]

# Forms that read as arithmetic only when the clause is nothing but the question: "a 3 x 3
# kernel" and "over 1000 people" are prose inside a sentence.
_WHOLE_CLAUSE_SYMBOLS = _rules(
    [
        # "log 1000", "корень 169" as the whole question
        (
            rf"(?<![\w(])(?P<f>{_FUNCTION_ALTERNATION})\s+(?P<x>{_VALUE})(?![\w.(])",
            _call,
        ),
        (rf"(?<=\d)\s*x\s*(?={_NUMBER})", " * "),
        (r"\s+over\s+(?=\d)", " / "),
        (rf"(?<![\w.]){_N}!(?=\s*$|\s*[-+*/)])", r"factorial(\1)"),
    ]
)

# Whole-request word problems. Each pattern is anchored: the clause (after its lead-in) must
# be exactly this request, so "half of 2020 was remote" stays prose.
QUESTION_RULES: list[Rule] = _rules(
    [
        (rf"^(?:sum|suma|сумма)\s+(?:of\s+)?{_N}\s+(?:and|i|и)\s+{_N}$", r"\1 + \2"),
        (rf"^(?:product|iloczyn|произведение)\s+(?:of\s+)?{_N}\s+(?:and|i|и)\s+{_N}$", r"\1 * \2"),
        (rf"^(?:quotient|ratio)\s+of\s+{_N}\s+(?:and|to|over)\s+{_N}$", r"\1 / \2"),
        (rf"^(?:difference|różnica|разность)\s+(?:between\s+|of\s+)?{_N}\s+(?:and|i|и)\s+{_N}$",
         r"\1 - \2"),
        (rf"^(?:add|dodaj|сложи)\s+{_N}\s+(?:and|to|i|do|и)\s+{_N}$", r"\1 + \2"),
        (rf"^(?:прибавь)\s+{_N}\s+к\s+{_N}$", r"\2 + \1"),
        (rf"^{_N}\s+added\s+to\s+{_N}$", r"\2 + \1"),
        (rf"^(?:multiply|pomnóż|умножь)\s+{_N}\s+(?:by|and|with|przez|на)\s+{_N}$", r"\1 * \2"),
        (rf"^(?:divide|podziel|раздели|подели)\s+{_N}\s+(?:by|przez|na|на)\s+{_N}$", r"\1 / \2"),
        (rf"^(?:subtract|odejmij)\s+{_N}\s+(?:from|od)\s+{_N}$", r"\2 - \1"),
        (rf"^(?:вычти|отними)\s+{_N}\s+(?:из|от)\s+{_N}$", r"\2 - \1"),
        (rf"^take\s+(?:away\s+)?{_N}\s+(?:away\s+)?from\s+{_N}$", r"\2 - \1"),
        (rf"^{_N}\s+(?:less|take\s+away)\s+{_N}$", r"\1 - \2"),
        (rf"^{_N}\s+over\s+{_N}$", r"\1 / \2"),
        (rf"^(?:split|share|divide|distribute|spread)\s+{_N}{_UNIT}\s+"
         rf"(?:between|among|across|into|by|over)\s+{_N}{_UNIT}$", r"\1 / \2"),
        (rf"^{_N}{_UNIT}\s+(?:(?:is|are|gets?)\s+)?(?:split|shared|divided)\s+"
         rf"(?:evenly\s+)?(?:between|among|across|into)\s+{_N}{_UNIT}$",
         r"\1 / \2"),
        (rf"^{_N}{_UNIT}\s+split\s+{_N}\s+ways$", r"\1 / \2"),
        (rf"^(?:double|twice|podwój|удвой)\s+{_N}$", r"2 * \1"),
        (rf"^(?:triple|thrice)\s+{_N}$", r"3 * \1"),
        (rf"^(?:half\s+(?:of\s+)?|połowa\s+(?:z\s+)?|половина\s+(?:от\s+)?){_N}$", r"\1 / 2"),
        (rf"^(?:a\s+)?third\s+of\s+{_N}$", r"\1 / 3"),
        (rf"^(?:a\s+)?quarter\s+of\s+{_N}$", r"\1 / 4"),
        (rf"^(?:increase|raise)\s+{_N}\s+by\s+{_N}\s*(?:%|percent)$", r"\1 * (1 + \2/100)"),
        (rf"^{_N}\s+(?:increased|plus)\s+(?:by\s+)?{_N}\s*(?:%|percent)$", r"\1 * (1 + \2/100)"),
        (rf"^(?:decrease|reduce|lower|cut)\s+{_N}\s+by\s+{_N}\s*(?:%|percent)$",
         r"\1 * (1 - \2/100)"),
        (rf"^{_N}\s+(?:decreased|reduced|minus)\s+(?:by\s+)?{_N}\s*(?:%|percent)$",
         r"\1 * (1 - \2/100)"),
        (rf"^(?:what\s+)?(?:percentage|percent)\s+(?:is|of)\s+{_N}\s+(?:of|in)\s+{_N}$",
         r"\1 / \2 * 100"),
        (rf"^{_N}\s+(?:out\s+of|of)\s+{_N}\s+(?:as\s+a\s+|in\s+)(?:percentage|percent)$",
         r"\1 / \2 * 100"),
        (rf"^round\s+{_N}\s+to\s+{_N}\s+(?:decimals?|decimal\s+places|places|digits)$",
         r"round(\1, \2)"),
        (rf"^round\s+{_N}$", r"round(\1)"),
    ]
)  # fmt: skip

_AVERAGE = re.compile(
    rf"^(?:the\s+)?(?:average|mean|średnia|среднее)\s+(?:of\s+|z\s+|из\s+)?"
    rf"(?P<items>{_NUMBER}(?:\s*(?:,|and|i|и)\s*{_NUMBER})+)$",
    re.IGNORECASE,
)


def symbolic(text: str, *, whole_clause: bool = False) -> str:
    """``text`` with its arithmetic words replaced by operators and function calls;
    ``whole_clause`` adds the forms that are arithmetic only as a question on their own."""
    rules = SYMBOL_RULES + _WHOLE_CLAUSE_SYMBOLS if whole_clause else SYMBOL_RULES
    for pattern, replacement in rules:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def word_problem(question: str) -> str | None:
    """The expression a whole spoken request asks for ("double 384" → "2 * 384"), or None."""
    text = " ".join(question.split())
    if match := _AVERAGE.match(text):
        items = re.findall(_NUMBER, match["items"])
        return f"({' + '.join(items)}) / {len(items)}"
    for pattern, replacement in QUESTION_RULES:
        if pattern.match(text):
            return pattern.sub(replacement, text, count=1)
    return None
