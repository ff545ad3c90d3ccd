"""The call a clause asks for once its intent is known from the examples, arguments by rules.

The similarity guess (intent_examples) says only what kind of request a clause is; this
module reads the arguments from the user's words with looser rules than the router uses
alone: the arithmetic may be any short stretch of the clause ("so basically I need to split
300 among 6 for the batches"), a listing needs the clause to name documents, the search topic
is what follows "about" / "on" / "про" or what is quoted, a read needs a file name or exactly
one known file named in the clause.
When the arguments cannot be read, there is no call: a plain answer beats a wrong tool.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

from assistant.tools.config import CALCULATOR, FILE_LOOKUP
from assistant.tools.intent_examples import IntentGuess
from assistant.tools.intent_files import FILE_NAME, clean_query, known_path
from assistant.tools.intent_files_phrases import ANY_DOCS
from assistant.tools.intent_math import arithmetic_expression
from assistant.tools.plan import PlannedCall

_MAX_WORDS = 40  # longer clauses are prose; their stretches are not searched
_MAX_WINDOW = 12  # words in one arithmetic stretch
_QUOTED = re.compile(r"[\"'`“‘«„]([^\"'`”’»“]{2,80})[\"'`”’»“]")
_TOPIC_MARKER = re.compile(
    r"\b(?:about|on|regarding|covering|covers?|explains?|explaining|describes?|describing|"
    r"mentions?|mentioning|discuss(?:es|ing)?|defines?|word|term|"
    r"o|na\s+temat|dotycząc\w*|opisuje|omawia|słowo|hasło|"
    r"про|об?|объясняет|описывает|упоминает|слово|термин)\s+(?P<q>.+)$",
    re.IGNORECASE,
)
_NAMES_DOCUMENTS = re.compile(rf"\b{ANY_DOCS}", re.IGNORECASE)
_EXTENSIONS = {"markdown": "*.md", "md": "*.md", "pdf": "*.pdf", "txt": "*.txt", "html": "*.html"}


def guided_call(
    guess: IntentGuess, clause: str, known_files: Sequence[str] = ()
) -> PlannedCall | None:
    """The call for ``clause`` given its guessed intent, or None when the rules find no
    arguments for it."""
    text = " ".join(clause.split()).rstrip("?!.").strip()
    if not text or len(text.split()) > _MAX_WORDS:
        return None
    if guess.intent == "calculator" and (expression := _stretch_expression(text)):
        return PlannedCall(
            CALCULATOR, "evaluate", {"expression": expression}, f"arithmetic ({guess.why})"
        )
    arguments: dict[str, Any] | None = None
    if guess.intent == "list_files" and _NAMES_DOCUMENTS.search(text):
        arguments = {"recursive": True}
        words = {word.lower() for word in re.findall(r"\w+", text)}
        if patterns := [glob for ext, glob in _EXTENSIONS.items() if ext in words]:
            arguments["pattern"] = patterns[0]
    elif guess.intent == "search_files":
        arguments = _search_arguments(text)
    elif guess.intent == "read_file":
        arguments = _read_arguments(text, known_files)
    if arguments is None:
        return None
    reason = {"list_files": "request to list files", "search_files": "search"}.get(
        guess.intent, "request to show a file"
    )
    return PlannedCall(FILE_LOOKUP, guess.intent, arguments, f"{reason} ({guess.why})")


def _stretch_expression(text: str) -> str | None:
    """The longest short stretch of ``text`` that is an arithmetic question."""
    words = text.split()
    best: tuple[int, str] | None = None
    for start in range(len(words)):
        for end in range(min(len(words), start + _MAX_WINDOW), start, -1):
            if best is not None and end - start <= best[0]:
                break
            window = " ".join(words[start:end]).strip(",;:")
            if re.search(r"\d", window) and (expression := arithmetic_expression(window)):
                best = (end - start, expression)
                break
    return best[1] if best else None


def _search_arguments(text: str) -> dict[str, Any] | None:
    if quoted := _QUOTED.search(text):
        query = quoted.group(1).strip()
    elif marker := _last_topic(text):
        query = clean_query(marker)
    else:
        return None
    if not query or len(query.split()) > 6:
        return None
    return {"query": query}


def _last_topic(text: str) -> str | None:
    """What follows the last topic word ("... notes about X" → "X")."""
    found = None
    position = 0
    while match := _TOPIC_MARKER.search(text, position):
        found = match.group("q")
        position = match.start("q")
    return found


def _read_arguments(text: str, known_files: Sequence[str]) -> dict[str, Any] | None:
    if name := FILE_NAME.search(text):
        return {"path": known_path(name.group("name"), known_files)}
    lowered = " " + " ".join(re.findall(r"\w+", text.lower())) + " "
    named = [
        path
        for path in known_files
        if f" {PurePosixPath(path).stem.lower().replace('-', ' ').replace('_', ' ')} " in lowered
    ]
    return {"path": named[0]} if len(named) == 1 else None
