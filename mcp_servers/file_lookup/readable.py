"""What people read of a file lookup result: the MCP text content beside the structured one.

A chat's tool card, ``assistant tools call`` and any other client show this text; programs
read the structured content. Every form is plain lines: the file excerpt with line numbers,
search hits as ``path:line: text``, one listing entry per line.
"""

from __future__ import annotations

from mcp_servers.file_lookup.records import FileContent, FileInfo, Listing, SearchResult


def file_content_text(result: FileContent) -> str:
    if result.end_line < result.start_line:
        return (
            f"{result.path}: no lines from line {result.start_line} "
            f"(the file has {_count(result.total_lines, 'line')})"
        )
    header = f"{result.path}, lines {result.start_line}-{result.end_line} of {result.total_lines}"
    if result.truncated:
        header += f" (output cut; continue with start_line={result.end_line + 1})"
    return f"{header}\n{result.content}"


def search_text(result: SearchResult) -> str:
    files = _count(result.files_searched, "file")
    found = len(result.matches)
    lines_found = _count(found, "line") if found else "No line"
    verb = "contains" if found <= 1 else "contain"
    header = f"{lines_found} {verb} {result.query!r} ({files} searched)"
    lines = [header + _more(result.truncated, "lines")]
    lines += [f"{match.path}:{match.line}: {match.text}" for match in result.matches]
    return "\n".join(lines + _note(result.note))


def listing_text(result: Listing) -> str:
    header = f"{result.path}: {_count(len(result.entries), 'entry', 'entries')}"
    lines = [header + _more(result.truncated, "entries")]
    lines += [_entry_line(entry.path, entry.type, entry.size_bytes) for entry in result.entries]
    return "\n".join(lines + _note(result.note))


def file_info_text(result: FileInfo) -> str:
    if result.type == "directory":
        return f"{result.path}: directory, modified {result.modified}"
    what = "binary file" if result.is_binary else "file"
    facts = [what, _size(result.size_bytes)]
    if result.line_count is not None:
        facts.append(_count(result.line_count, "line"))
    return f"{result.path}: {', '.join(facts)}, modified {result.modified}"


def _entry_line(path: str, kind: str, size_bytes: int | None) -> str:
    if kind == "directory":
        return f"{path}/"
    if kind == "file":
        return path if size_bytes is None else f"{path}  ({_size(size_bytes)})"
    if kind == "symlink":
        return f"{path}  (symlink, not followed)"
    return f"{path}  ({kind})"


def _more(truncated: bool, what: str) -> str:
    return f"; more {what} not shown" if truncated else ""


def _note(note: str | None) -> list[str]:
    return [f"({note})"] if note else []


def _count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"


def _size(byte_count: int) -> str:
    return "1 byte" if byte_count == 1 else f"{byte_count:,} bytes"
