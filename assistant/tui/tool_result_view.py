"""What a tool card shows of a result: readable fields for the structured results of our own
tools (calculator, file lookup), pretty-printed JSON for any other tool's structured result,
and plain text otherwise — each bounded in lines and characters, so one large result cannot
flood the conversation (the history and exports keep it whole).

A known tool is recognised by its tool name and the shape of its result, not by its server's
name (mcp.json may call a server anything); a shape that does not fit falls back to JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from textual.content import Content

from assistant.tui.safe_text import join

MAX_LINES = 24  # of one result in a card
MAX_CHARS = 4000
MAX_LINE_CHARS = 300  # a longer line is cut (minified JSON, a file without newlines)
MAX_HIT_CHARS = 160  # of a search hit's line: enough to recognise it

Piece = tuple[str, str] | str


def bounded(text: str, max_lines: int = MAX_LINES, max_chars: int = MAX_CHARS) -> str:
    """``text`` cut to ``max_lines`` lines and ``max_chars`` characters, ending with
    "… N more lines" when lines were left out."""
    lines = text.split("\n")
    kept: list[str] = []
    used = 0
    for line in lines[:max_lines]:
        if len(line) > MAX_LINE_CHARS:
            line = line[:MAX_LINE_CHARS] + " …"
        if kept and used + len(line) > max_chars:
            break
        kept.append(line)
        used += len(line) + 1
    left = len(lines) - len(kept)
    if left:
        kept.append(f"… {left:,} more line{'' if left == 1 else 's'}")
    return "\n".join(kept)


def pretty_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def result_content(tool: str, structured: Mapping[str, Any] | None, text: str) -> Content:
    """The result part of a card for a successful call of ``tool`` (its bare name)."""
    if structured:
        render = _KNOWN.get(tool)
        if render is not None:
            try:
                pieces = render(structured)
            except (KeyError, TypeError, ValueError, AttributeError):
                pieces = None  # not the shape our server gives: show the data as it is
            if pieces is not None:
                return join(*pieces)
        return join(bounded(pretty_json(dict(structured))))
    return join(bounded(text))


def _calculation(data: Mapping[str, Any]) -> list[Piece] | None:
    """``2^10 / 3 = 1024/3 ≈ 341.333333333333`` and whether it is exact."""
    if not isinstance(data["expression"], str) or not isinstance(data["display"], str):
        return None
    exact = bool(data["exact"])
    relation = " = " if exact else " ≈ "
    pieces: list[Piece] = [data["expression"], relation, (bounded(data["display"], 1), "bold")]
    pieces.append(("   exact" if exact else "   approximate", "italic"))
    return pieces


def _file_excerpt(data: Mapping[str, Any]) -> list[Piece] | None:
    """``path:start-end`` (of how many lines) over the numbered excerpt."""
    path, start, end, total = (
        data["path"],
        data["start_line"],
        data["end_line"],
        data["total_lines"],
    )
    if not all(isinstance(n, int) for n in (start, end, total)):
        return None
    place = f"{path}:{start}-{end}" if end >= start else f"{path}: no lines from {start}"
    note = f"  of {total:,} line{'' if total == 1 else 's'}"
    if data.get("truncated"):
        note += f" (cut; more from line {end + 1})"
    return [(place, "bold"), (note, "italic"), "\n", bounded(str(data["content"]).rstrip("\n"))]


def _search_hits(data: Mapping[str, Any]) -> list[Piece] | None:
    """How many hits for the query, then each as ``path:line  text``."""
    matches = list(data["matches"])
    header = f"{len(matches):,} match{'' if len(matches) == 1 else 'es'} for {data['query']!r}"
    if "files_searched" in data:
        header += f" in {data['files_searched']:,} files"
    if data.get("truncated"):
        header += " (more not shown)"
    hits = "\n".join(f"{m['path']}:{m['line']}  {_clip(str(m['text']).strip())}" for m in matches)
    return _with_note([(header, "bold"), "\n" if hits else "", bounded(hits)], data)


def _listing(data: Mapping[str, Any]) -> list[Piece] | None:
    """The folder and its entries, one path a line (folders end in /)."""
    entries = list(data["entries"])
    header = f"{data['path']}: {len(entries):,} entr{'y' if len(entries) == 1 else 'ies'}"
    if data.get("truncated"):
        header += " (more not shown)"
    lines = [_entry(entry) for entry in entries]
    return _with_note([(header, "bold"), "\n" if lines else "", bounded("\n".join(lines))], data)


def _file_info(data: Mapping[str, Any]) -> list[Piece] | None:
    facts = [str(data["type"])]
    if data["type"] != "directory":
        facts.append(f"{data['size_bytes']:,} bytes")
        if data.get("line_count") is not None:
            facts.append(f"{data['line_count']:,} lines")
        if data.get("is_binary"):
            facts.append("binary")
    facts.append(f"modified {data['modified']}")
    return [(str(data["path"]), "bold"), "  " + ", ".join(facts)]


def _clip(text: str, limit: int = MAX_HIT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + " …"


def _entry(entry: Mapping[str, Any]) -> str:
    path, kind = str(entry["path"]), entry.get("type")
    if kind == "directory":
        return path.rstrip("/") + "/"
    if kind == "file":
        size = entry.get("size_bytes")
        return path if size is None else f"{path}  {size:,} bytes"
    return f"{path}  ({kind})"


def _with_note(pieces: list[Piece], data: Mapping[str, Any]) -> list[Piece]:
    if data.get("note"):
        pieces += ["\n", (f"({data['note']})", "italic")]
    return pieces


_KNOWN: dict[str, Callable[[Mapping[str, Any]], list[Piece] | None]] = {
    "evaluate": _calculation,  # calculator
    "read_file": _file_excerpt,  # file lookup
    "search_files": _search_hits,
    "list_files": _listing,
    "file_info": _file_info,
}
