"""Is this clause a request about files, and which file-lookup call answers it?

Three shapes, checked in order: search ("which files mention LoRA?", "в каком файле говорится
про LoRA?"), listing ("list the notes", "pokaż listę plików"), reading ("show me decoding.md",
"open the decoding notes"); the phrasings are in intent_files_phrases. A read needs an explicit
verb and a file the user named — a file name with an extension, or a topic that matches one
of ``known_files`` (the file lookup's paths, which start with a folder's name when it serves
several folders). Questions *about* a topic ("what do the notes say about top-p?") are left
to retrieval.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from assistant.tools.intent_files_phrases import DOCS as _DOCS
from assistant.tools.intent_files_phrases import LIST, SEARCH

_QUOTES = "\"'`“”‘’«»„"  # typographic quotes users paste too
_READ_VERB = (
    r"(?:(?:can|could)\s+you\s+)?(?:please\s+)?"
    r"(?:show(?:\s+me)?|open|read|display|print|cat|view|let\s+me\s+see|give\s+me|"
    r"(?:bring|pull)\s+up|"
    r"what'?s\s+in|what\s+is\s+in|(?:the\s+)?contents?\s+of|"
    r"otwórz|pokaż(?:\s+mi)?|przeczytaj|wyświetl|открой|покажи(?:\s+мне)?|прочитай|выведи)"
    r"(?:\s+(?:plik|файл))?"
)
_LINES = re.compile(r"\blines?\s+(?P<a>\d+)\s*(?:-|–|to|through)\s*(?P<b>\d+)(?:\s+of)?\s*", re.I)
FILE_NAME = re.compile(r"(?<![\w/.])(?P<name>[\w./-]*[A-Za-z_][\w-]*\.[A-Za-z][A-Za-z0-9]{0,5})\b")
_SUFFIX_RANGE = re.compile(r":(?P<a>\d+)(?:-(?P<b>\d+))?\b")
_EXT_GLOB = {
    "markdown": "*.md",
    "md": "*.md",
    "text": "*.txt",
    "txt": "*.txt",
    "pdf": "*.pdf",
    "html": "*.html",
}


@dataclass(frozen=True)
class FileIntent:
    tool: str
    arguments: dict[str, Any]
    reason: str


def clean_query(raw: str) -> str:
    query = raw.strip().rstrip("?!.").strip()
    query = re.sub(r"^the\s+(?:words?|terms?|phrases?|strings?|text)\s+", "", query, flags=re.I)
    query = re.sub(
        r"\s+(?:in\s+(?:the\s+|my\s+|your\s+)?" + _DOCS + r"|at\s+all)$", "", query, flags=re.I
    )
    query = re.sub(r"^(?:a|an|the|słowo|frazę|слово|фразу)\s+", "", query, flags=re.I)
    return query.strip().strip(_QUOTES).strip()


def _search(text: str) -> FileIntent | None:
    for pattern in SEARCH:
        if match := pattern.match(text):
            query = clean_query(match.group("q"))
            if query and len(query) <= 200:
                return FileIntent("search_files", {"query": query}, f"search for {query!r}")
    return None


def _list(text: str, known_files: Sequence[str]) -> FileIntent | None:
    match = next((m for pattern in LIST if (m := pattern.match(text))), None)
    if not match:
        return None
    arguments: dict[str, Any] = {"recursive": True}
    ext, topic = match.groupdict().get("ext"), match.groupdict().get("topic")
    if topic:
        if known_files and "*" not in topic and not _known_match(topic, known_files):
            # No file is named after the topic: the files that mention it answer better.
            return FileIntent("search_files", {"query": topic}, f"search for {topic!r}")
        arguments["pattern"] = topic if "*" in topic else f"*{topic}*"
    elif ext:
        arguments["pattern"] = _EXT_GLOB[ext.lower()]
    return FileIntent("list_files", arguments, "request to list files")


def _known_match(topic: str, known_files: Sequence[str], *, exact_only: bool = False) -> list[str]:
    """Known files whose stem is the topic (or, failing that, contains it as a word)."""
    topic = topic.lower().strip().replace(" ", "-")
    if len(topic) < 3:
        return []
    stems = {name: PurePosixPath(name).stem.lower() for name in known_files}
    exact = [name for name, stem in stems.items() if stem in (topic, topic.replace("-", "_"))]
    if exact or exact_only:
        return exact
    word = re.compile(rf"(?:^|[-_]){re.escape(topic)}(?:$|[-_])")
    return [name for name, stem in stems.items() if word.search(stem)]


def known_path(path: str, known_files: Sequence[str]) -> str:
    """The one known file a typed name ends with ("rag.md" -> "notes/rag.md"), else the name.

    With several document folders the file lookup's paths start with a folder's name, which
    people leave out; a name that is ambiguous or unknown is passed on as typed.
    """
    if path in known_files:
        return path
    ending = "/" + path.removeprefix("./")
    found = [known for known in known_files if known.endswith(ending)]
    return found[0] if len(found) == 1 else path


def _read(text: str, known_files: Sequence[str]) -> FileIntent | None:
    verb = re.match(_READ_VERB + r"\s+(?P<rest>.+)$", text, re.I)
    if not verb:
        return None
    rest = verb.group("rest").strip()
    arguments: dict[str, Any] = {}
    if lines := _LINES.search(rest):
        arguments["start_line"], arguments["end_line"] = int(lines["a"]), int(lines["b"])
        rest = (rest[: lines.start()] + " " + rest[lines.end() :]).strip()
    if name := FILE_NAME.search(rest):
        path = known_path(name.group("name"), known_files)
        if suffix := _SUFFIX_RANGE.match(rest, name.end()):
            arguments["start_line"] = int(suffix["a"])
            if suffix["b"]:
                arguments["end_line"] = int(suffix["b"])
        return FileIntent("read_file", {"path": path, **arguments}, f"request to show {path}")
    # "the decoding notes", "the notes on decoding", "the lora file"
    topic = re.fullmatch(
        rf"(?:the\s+|my\s+|your\s+)?(?:(?P<a>[\w-]+(?:\s+[\w-]+)?)\s+{_DOCS}|"
        rf"{_DOCS}\s+(?:on|about|for)\s+(?P<b>[\w-]+(?:\s+[\w-]+)?))[?.!]?",
        rest,
        re.I,
    )
    if not known_files:
        return None
    if topic:
        subject = topic.group("a") or topic.group("b")
    else:  # "show me the glossary": the rest is exactly a known file's name
        subject = re.sub(r"^(?:the|my|your)\s+", "", rest.rstrip("?.!"), flags=re.I)
        matches = _known_match(subject, known_files, exact_only=True)
        if len(matches) != 1:
            return None
    matches = _known_match(subject, known_files)
    if len(matches) == 1:
        return FileIntent(
            "read_file", {"path": matches[0], **arguments}, f"request to show {matches[0]}"
        )
    if matches:
        pattern = f"*{subject.lower().replace(' ', '-')}*"
        return FileIntent(
            "list_files",
            {"pattern": pattern, "recursive": True},
            f"several files match {subject!r}",
        )
    return None


def file_intent(clause: str, known_files: Sequence[str] = ()) -> FileIntent | None:
    """The file-lookup call a clause asks for, or None."""
    text = " ".join(clause.split()).strip()
    text = re.sub(r"^(?:hey|ok|okay|so|please|now)[,:]?\s+", "", text, flags=re.I)
    text = text.rstrip("?!.").strip()
    if not text:
        return None
    return _search(text) or _list(text, known_files) or _read(text, known_files)
