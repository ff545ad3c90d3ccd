"""File → lines of text with their source positions (line numbers, and pages for PDFs).

Every failure is a :class:`LoadError` carrying a short reason; the indexer reports it and goes
on with the next file. Nothing here interprets the text: it is data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from charset_normalizer import from_bytes

TEXT_KINDS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".org": "org",
    ".rst": "rst",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}
SUPPORTED_SUFFIXES = frozenset(TEXT_KINDS)
DEFAULT_MAX_BYTES = 25 * 1024 * 1024
_SNIFF_BYTES = 8192


class LoadError(Exception):
    """A file that cannot be indexed; ``reason`` is shown to the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TextLine:
    """One line of extracted text and where it came from (1-based line, page for PDFs)."""

    line: int
    text: str
    page: int | None = None


@dataclass(frozen=True)
class LoadedDocument:
    path: Path
    kind: str
    lines: list[TextLine]
    encoding: str | None = None


def kind_of(path: Path) -> str | None:
    return TEXT_KINDS.get(path.suffix.lower())


def load_document(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedDocument:
    """Read ``path`` and return its visible text as numbered lines."""
    return parse_document(path, read_bytes(path, max_bytes=max_bytes))


def parse_document(path: Path, data: bytes) -> LoadedDocument:
    """Extract lines from ``data``, the bytes of ``path`` (the suffix picks the format)."""
    kind = kind_of(path)
    if kind is None:
        raise LoadError(f"unsupported file type {path.suffix or '(none)'}")
    if kind == "pdf":
        return LoadedDocument(path, kind, _pdf_lines(path, data))
    text, encoding = decode_text(data)
    if kind == "html":
        lines = html_lines(text)
    else:
        lines = [TextLine(i, line) for i, line in enumerate(text.splitlines(), start=1)]
    return LoadedDocument(path, kind, lines, encoding)


def read_bytes(path: Path, *, max_bytes: int) -> bytes:
    try:
        if not path.is_file():
            raise LoadError("not a regular file")
        size = path.stat().st_size
        if size > max_bytes:
            raise LoadError(f"too large ({size / 1e6:.1f} MB > {max_bytes / 1e6:.1f} MB limit)")
        return path.read_bytes()
    except OSError as exc:
        raise LoadError(f"unreadable: {exc.strerror or exc}") from exc


def decode_text(data: bytes) -> tuple[str, str]:
    """UTF-8 first; otherwise the encoding charset-normalizer detects. Binary data is refused."""
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise LoadError("binary file (NUL bytes)")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise LoadError("undecodable text (no encoding fits)")
    text = str(best)
    controls = sum(1 for ch in text[:_SNIFF_BYTES] if ord(ch) < 32 and ch not in "\t\n\r\f")
    if controls > 0.05 * min(len(text), _SNIFF_BYTES):
        raise LoadError("binary file (control characters)")
    return text, best.encoding


# -- HTML ------------------------------------------------------------------------------------

_HIDDEN_TAGS = frozenset({"script", "style", "head", "noscript", "template", "svg", "iframe"})
_SPACES = re.compile(r"\s+")


class _VisibleText(HTMLParser):
    """Collects visible text with the source line each piece starts on."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden_depth = 0
        self.pieces: dict[int, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS and self.hidden_depth:
            self.hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        if self.hidden_depth:
            return
        line = self.getpos()[0]
        for offset, part in enumerate(data.split("\n")):
            part = _SPACES.sub(" ", part).strip()
            if part:
                self.pieces.setdefault(line + offset, []).append(part)


def html_lines(text: str) -> list[TextLine]:
    parser = _VisibleText()
    parser.feed(text)
    parser.close()
    return [TextLine(line, " ".join(parts)) for line, parts in sorted(parser.pieces.items())]


# -- PDF -------------------------------------------------------------------------------------


def _pdf_lines(path: Path, data: bytes) -> list[TextLine]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("encrypted PDF")
        lines: list[TextLine] = []
        for page_no, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            lines.extend(
                TextLine(i, line, page_no) for i, line in enumerate(text.splitlines(), start=1)
            )
    except (PyPdfError, ValueError, KeyError, OSError) as exc:
        raise LoadError(f"unreadable PDF: {exc}") from exc
    return lines
