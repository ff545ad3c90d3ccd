"""Lines of a document → chunks that fit the embedder, with their line ranges.

Token counts come from the embedder's own tokenizer, so a chunk (with its heading prefix)
never exceeds the model's maximum sequence length and nothing is silently truncated. Markdown
and Org headings start new sections; long lines are split at sentence ends (Latin and CJK
punctuation), and overlong sentences at token boundaries.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from assistant.rag.loaders import LoadedDocument, TextLine

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ORG_HEADING = re.compile(r"^(\*+)\s+(.*\S)\s*$")
# Lines with nothing but table borders: web pages scraped to text keep them by the hundred
# (one seed page is 464 such lines of 586), and embedded they crowd out the words.
_NO_CONTENT = re.compile(r"^[\s|]*$")
# A sentence ends after . ! ? (followed by space) or after CJK full stops.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")


class TokenCounter(Protocol):
    def count(self, texts: list[str]) -> list[int]: ...

    def offsets(self, text: str) -> list[tuple[int, int]]: ...


@dataclass(frozen=True)
class Chunk:
    text: str
    start_line: int
    end_line: int
    page: int | None
    heading: str

    @property
    def embed_text(self) -> str:
        """What is embedded: the heading path gives short chunks their topic."""
        if self.heading and not self.text.lstrip("#* ").startswith(self.heading.split(" > ")[-1]):
            return f"{self.heading}\n{self.text}"
        return self.text


@dataclass(frozen=True)
class _Piece:
    line: int
    text: str
    tokens: int
    joiner: str  # "\n" starts a new line, "\n\n" a new paragraph; "" continues the line


@dataclass
class _Section:
    heading: str
    page: int | None
    lines: list[TextLine]


def chunk_document(
    doc: LoadedDocument, counter: TokenCounter, *, max_tokens: int, overlap: int
) -> list[Chunk]:
    """Chunk ``doc`` into pieces of at most ``max_tokens`` (embedded text) with ``overlap``."""
    if max_tokens < 8:
        raise ValueError("max_tokens must be at least 8")
    overlap = max(0, min(overlap, max_tokens // 2))
    chunks: list[Chunk] = []
    for section in _sections(doc):
        chunks.extend(_chunk_section(section, counter, max_tokens, overlap))
    return chunks


def _sections(doc: LoadedDocument) -> Iterator[_Section]:
    """Split at headings (Markdown outside code fences, Org) and at page breaks.

    A heading directly followed by another heading stays with it, so a title line never
    becomes a chunk of its own.
    """
    pattern = {"markdown": _MD_HEADING, "org": _ORG_HEADING}.get(doc.kind)
    stack: list[tuple[int, str]] = []
    current = _Section("", None, [])
    has_body = False
    in_fence = False
    for line in doc.lines:
        if doc.kind == "markdown" and line.text.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = pattern.match(line.text) if pattern and not in_fence else None
        if match or line.page != current.page:
            carried: list[TextLine] = []
            if has_body or line.page != current.page:
                if current.lines:
                    yield current
            else:
                carried = current.lines
            if match:
                level = len(match.group(1))
                stack = [(lv, title) for lv, title in stack if lv < level]
                stack.append((level, match.group(2).strip()))
            current = _Section(" > ".join(t for _, t in stack), line.page, carried)
            has_body = False
        elif line.text.strip():
            has_body = True
        current.lines.append(line)
    if current.lines:
        yield current


def _chunk_section(
    section: _Section, counter: TokenCounter, max_tokens: int, overlap: int
) -> list[Chunk]:
    heading_tokens = counter.count([section.heading])[0] + 1 if section.heading else 0
    budget = max(8, max_tokens - heading_tokens)
    pieces = _pieces(section.lines, counter, budget)
    for _ in range(8):
        chunks = [_make_chunk(group, section) for group in _pack(pieces, budget, overlap)]
        # Token counts of pieces are nearly additive; verify the real counts and shrink if not.
        real = counter.count([c.embed_text for c in chunks]) if chunks else []
        excess = max((n - max_tokens for n in real), default=0)
        if excess <= 0:
            return chunks
        budget = max(8, budget - excess - 2)
        pieces = _pieces(section.lines, counter, budget)
    return chunks


def _pieces(lines: list[TextLine], counter: TokenCounter, budget: int) -> list[_Piece]:
    kept: list[TextLine] = []
    after_blank: list[bool] = []  # a blank line came before it: a new paragraph
    blank = False
    for ln in lines:
        if not ln.text.strip():
            blank = True
        elif not _NO_CONTENT.match(ln.text):
            kept.append(ln)
            after_blank.append(blank)
            blank = False
    counts = counter.count([ln.text for ln in kept]) if kept else []
    pieces: list[_Piece] = []
    for ln, n, new_paragraph in zip(kept, counts, after_blank, strict=True):
        # One blank line stands for any run of them, so an answer copied from the passage can
        # end where its paragraph ends (core/grounding.py).
        joiner = "\n\n" if new_paragraph else "\n"
        if n <= budget:
            pieces.append(_Piece(ln.line, ln.text, n, joiner))
            continue
        parts = _split_long(ln.text, counter, budget)
        part_counts = counter.count(parts)
        pieces.extend(
            _Piece(ln.line, part, cnt, joiner if i == 0 else "")
            for i, (part, cnt) in enumerate(zip(parts, part_counts, strict=True))
        )
    return pieces


def _split_long(text: str, counter: TokenCounter, budget: int) -> list[str]:
    """Split one long line at sentence ends, then overlong sentences at token boundaries."""
    bounds = [0] + [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text)]
    sentences = [text[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    counts = counter.count(sentences)
    parts: list[str] = []
    for sentence, n in zip(sentences, counts, strict=True):
        if n <= budget:
            parts.append(sentence)
            continue
        offsets = counter.offsets(sentence)
        start = 0
        for i in range(budget, len(offsets), budget):
            cut = offsets[i][0]
            parts.append(sentence[start:cut])
            start = cut
        parts.append(sentence[start:])
    return [p for p in parts if p]


def _pack(pieces: list[_Piece], budget: int, overlap: int) -> Iterator[list[_Piece]]:
    """Greedy packing; each new chunk repeats up to ``overlap`` tokens of the previous one."""
    group: list[_Piece] = []
    total = 0
    fresh = 0  # pieces in ``group`` not carried over from the previous chunk
    for piece in pieces:
        if group and total + piece.tokens > budget and fresh:
            yield group
            carried: list[_Piece] = []
            carried_tokens = 0
            for prev in reversed(group[1:]):
                if (
                    carried_tokens + prev.tokens > overlap
                    or carried_tokens + prev.tokens + piece.tokens > budget
                ):
                    break
                carried.insert(0, prev)
                carried_tokens += prev.tokens
            group, total, fresh = carried, carried_tokens, 0
        group.append(piece)
        total += piece.tokens
        fresh += 1
    if group and fresh:
        yield group


def _make_chunk(group: list[_Piece], section: _Section) -> Chunk:
    text = "".join((p.joiner if i else "") + p.text for i, p in enumerate(group))
    return Chunk(text.strip(), group[0].line, group[-1].line, section.page, section.heading)
