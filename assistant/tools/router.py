"""User text → planned tool calls. GPT-2 cannot emit tool calls, so the assistant decides, openly.

Explicit commands (the message starts with one): ``/calc EXPR``, ``/files [PATTERN]``,
``/read PATH [START-END]``, ``/grep TEXT``, ``/tool SERVER.TOOL {json}``.
Otherwise each sentence of the message is checked, by rules, for an arithmetic question (in
English, Polish or Russian, operators and functions in words: intent_math_words), a request
about files (intent_files_phrases), a product written as an estimate, or arithmetic inside a
longer question. With the chat's embedder the router also guesses each sentence's intent from
labelled example requests (intent_examples); the arguments are still read by rules
(intent_guided), and a sentence with no clear intent or no readable arguments gets no tool.
Every planned call says why.

Pure: no I/O, no state. It is only ever given the user's own words — retrieved passages and
tool output never pass through here, so they cannot trigger a call.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any

from assistant.tools.config import CALCULATOR, DEFAULT_MAX_CALLS_PER_TURN, FILE_LOOKUP
from assistant.tools.intent_examples import Embed, Example, ExampleIntents, IntentGuess
from assistant.tools.intent_files import file_intent
from assistant.tools.intent_guided import guided_call
from assistant.tools.intent_math import arithmetic_expression
from assistant.tools.intent_math_embedded import embedded_expressions, product_estimate
from assistant.tools.plan import PlannedCall

log = logging.getLogger(__name__)

COMMANDS = ("/calc", "/files", "/read", "/grep", "/tool")
_RANGE = re.compile(r"^(?P<a>\d+)(?:\s*[-:]\s*(?P<b>\d+))?$")
# Sentence breaks, and "... and also ..." joins, separate independent requests.
_CLAUSE_BREAK = re.compile(
    r"(?<=[?!.;])\s+|;\s*|\n+|,?\s+(?:and\s+(?:also|then)|also|then)\s+", re.IGNORECASE
)

_CONNECTIVE = re.compile(r"^\s*(?:(?:and|also|then|plus|now|ok|okay)\b[,:]?\s*)+", re.IGNORECASE)
_MAX_CLAUSE_CHARS = 2_000  # a longer run without a sentence break is pasted prose
_ARITHMETIC = "arithmetic question"
_ESTIMATE = "product estimate"
_EMBEDDED = "arithmetic in the question"


class Router:
    """Plans the tool calls a message asks for: rules, and with ``embed`` (the chat's sentence
    embedder) also intent by similarity to labelled example requests (``examples``, by
    default the bundled set)."""

    def __init__(
        self, embed: Embed | None = None, *, examples: Sequence[Example] | None = None
    ) -> None:
        self._intents = ExampleIntents(embed, examples) if embed is not None else None

    @property
    def guesses_intents(self) -> bool:
        """Whether the similarity stage is on (an embedder was given and has not failed)."""
        return self._intents is not None

    def route(
        self,
        text: str,
        *,
        known_files: Sequence[str] = (),
        max_calls: int = DEFAULT_MAX_CALLS_PER_TURN,
    ) -> tuple[list[PlannedCall], str]:
        """The tool calls (at most ``max_calls``) the user's message asks for, and a one-line
        explanation."""
        stripped = text.strip()
        if stripped.startswith("/"):
            planned, explanation = _explicit(stripped)
            if len(planned) > max_calls:
                return [], f"no tool: {explanation} skipped (at most {max_calls} per turn)"
            return planned, explanation
        clauses = [c for c in (_CONNECTIVE.sub("", c) for c in _CLAUSE_BREAK.split(stripped)) if c]
        calls: list[PlannedCall] = []
        for clause, guess in zip(clauses, self._guesses(clauses), strict=True):
            for call in _clause_calls(clause, guess, known_files):
                if call not in calls:
                    calls.append(call)
        if not calls:
            return [], "no tool: not an arithmetic question or a request about files"
        dropped = len(calls) - max_calls
        calls = calls[:max_calls]
        explanation = "; ".join(f"{c.name} ({c.reason})" for c in calls)
        if dropped > 0:
            explanation += f"; {dropped} more request(s) skipped (at most {max_calls} per turn)"
        return calls, explanation

    def _guesses(self, clauses: list[str]) -> list[IntentGuess | None]:
        if self._intents is None:
            return [None] * len(clauses)
        try:
            return self._intents.guess(clauses)
        except Exception:  # a broken embedder must not stop the chat: rules alone then
            log.exception("intent by similarity failed; routing by rules only from now on")
            self._intents = None
            return [None] * len(clauses)


def route(
    text: str,
    *,
    known_files: Sequence[str] = (),
    max_calls: int = DEFAULT_MAX_CALLS_PER_TURN,
) -> tuple[list[PlannedCall], str]:
    """``Router().route``: the rules alone (no embedder)."""
    return Router().route(text, known_files=known_files, max_calls=max_calls)


def _clause_calls(
    clause: str, guess: IntentGuess | None, known_files: Sequence[str]
) -> list[PlannedCall]:
    """The calls one clause asks for: a whole-clause request first, then arithmetic inside a
    longer question, then what the clause's intent guess lets the rules read from it."""
    if len(clause) > _MAX_CLAUSE_CHARS:
        return []
    if expression := arithmetic_expression(clause):
        return [PlannedCall(CALCULATOR, "evaluate", {"expression": expression}, _ARITHMETIC)]
    if intent := file_intent(clause, known_files):
        return [PlannedCall(FILE_LOOKUP, intent.tool, intent.arguments, intent.reason)]
    found = []
    if estimate := product_estimate(clause):
        found.append(PlannedCall(CALCULATOR, "evaluate", {"expression": estimate}, _ESTIMATE))
    else:
        found = [
            PlannedCall(CALCULATOR, "evaluate", {"expression": expression}, _EMBEDDED)
            for expression in embedded_expressions(clause)
        ]
    if found or guess is None:
        return found
    if guess.intent != "none" and (call := guided_call(guess, clause, known_files)):
        return [call]
    return []


def _explicit(text: str) -> tuple[list[PlannedCall], str]:
    command, _, rest = text.partition(" ")
    command, rest = command.lower(), rest.strip()
    handler = {
        "/calc": _calc,
        "/files": _files,
        "/read": _read,
        "/grep": _grep,
        "/tool": _tool,
    }.get(command)
    if handler is None:
        return [], f"no tool: unknown command {command} (commands: {', '.join(COMMANDS)})"
    result = handler(rest)
    if isinstance(result, str):
        return [], f"no tool: {command}: {result}"
    return [result], f"{result.name} ({result.reason})"


def _calc(rest: str) -> PlannedCall | str:
    if not rest:
        return "usage: /calc EXPRESSION"
    return PlannedCall(CALCULATOR, "evaluate", {"expression": rest}, "/calc command")


def _files(rest: str) -> PlannedCall | str:
    arguments: dict[str, Any] = {"recursive": True}
    if rest:
        arguments["pattern"] = rest
    return PlannedCall(FILE_LOOKUP, "list_files", arguments, "/files command")


def _read(rest: str) -> PlannedCall | str:
    if not rest:
        return "usage: /read PATH [START-END]"
    path, lines = rest, ""
    if " " in rest:
        head, _, tail = rest.rpartition(" ")
        if _RANGE.match(tail.strip()):
            path, lines = head.strip(), tail.strip()
    if not lines and (suffix := re.search(r":(\d+(?:-\d+)?)$", path)):
        path, lines = path[: suffix.start()], suffix.group(1)
    arguments: dict[str, Any] = {"path": path}
    if lines and (match := _RANGE.match(lines)):
        start = int(match["a"])
        arguments["start_line"] = start
        arguments["end_line"] = int(match["b"]) if match["b"] else start
    return PlannedCall(FILE_LOOKUP, "read_file", arguments, "/read command")


def _grep(rest: str) -> PlannedCall | str:
    query = rest.strip().strip("\"'")
    if not query:
        return "usage: /grep TEXT"
    return PlannedCall(FILE_LOOKUP, "search_files", {"query": query}, "/grep command")


def _tool(rest: str) -> PlannedCall | str:
    name, _, raw = rest.partition(" ")
    server, dot, tool = name.partition(".")
    if not server or not dot or not tool:
        return "usage: /tool SERVER.TOOL {json arguments}"
    raw = raw.strip()
    try:
        arguments = json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        return f"arguments are not valid JSON ({exc.msg} at column {exc.colno})"
    if not isinstance(arguments, dict):
        return "arguments must be a JSON object"
    return PlannedCall(server, tool, arguments, "/tool command")
