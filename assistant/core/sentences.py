"""Sentence spans of course text, for grounding: where an answer may open and where it may end.

Plain rules that hold across the scripts the course pages use: a sentence ends at ``.!?…``
followed by whitespace (not after a few common abbreviations), right after ``。！？``
(Chinese and Japanese write no space), and at line breaks that start a new block in Markdown or
Org (a blank line, a heading, a list item, a table row) or end a heading. A line break inside a
paragraph is just a space. Pure Python, no torch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CLOSERS = "\"'”’)»」』）]"
# Western full stops need whitespace after them (0.9, e.g. "top_p=0.9" are not ends).
_WESTERN_END = re.compile(rf"[.!?…]+[{re.escape(_CLOSERS)}]*(?=\s)")
# CJK full stops end a sentence wherever they stand.
_CJK_END = re.compile(rf"[。！？]+[{re.escape(_CLOSERS)}]*")
_ABBREVIATIONS = frozenset(
    {"e.g.", "i.e.", "etc.", "vs.", "cf.", "fig.", "eq.", "no.", "dr.", "mr."}
)
_NUMBERING = re.compile(r"^\d{1,3}\.$")  # "1." opening a list line is not a sentence end
# A line that starts a block: heading, list item, table row, quote, code fence.
_BLOCK_START = re.compile(r"^\s*(#{1,6}\s|\*+\s|[-+•]\s|\d{1,3}[.)]\s|\||>|```|#\+)")
_HEADING = re.compile(r"^\s*(#{1,6}\s|\*+\s(?=\S))")
_STRUCTURE = re.compile(r"^\s*(\||```|#\+)")
# Leading list / heading markers are not part of the sentence a reader would quote.
_MARKER = re.compile(r"^\s*(#{1,6}\s+|\*+\s+|[-+•]\s+|\d{1,3}[.)]\s+|>\s*)")


@dataclass(frozen=True)
class Sentence:
    """One sentence of a text: its character span there, and whether it is a heading, table
    row or code fence (``structure``: text a reader would not quote as an answer)."""

    start: int
    end: int
    structure: bool = False


def _line_breaks(text: str) -> list[int]:
    """Offsets of the line breaks that end a block (the sentence ends there too)."""
    lines = text.split("\n")
    breaks, offset = [], 0
    for i, line in enumerate(lines[:-1]):
        offset += len(line)
        following = lines[i + 1]
        if (
            not line.strip()
            or not following.strip()
            or _HEADING.match(line)
            or _BLOCK_START.match(following)
        ):
            breaks.append(offset)
        offset += 1
    return breaks


def _ends(text: str) -> list[int]:
    ends = set(_line_breaks(text))
    for match in _WESTERN_END.finditer(text):
        word_start = max(text.rfind(" ", 0, match.start()), text.rfind("\n", 0, match.start())) + 1
        word = text[word_start : match.end()].strip(_CLOSERS).lower()
        line_start = text.rfind("\n", 0, match.start()) + 1
        numbering = _NUMBERING.match(word) and not text[line_start:word_start].strip()
        if word not in _ABBREVIATIONS and not numbering:
            ends.add(match.end())
    ends.update(match.end() for match in _CJK_END.finditer(text))
    ends.add(len(text))
    return sorted(ends)


def split_sentences(text: str) -> list[Sentence]:
    """The sentences of ``text`` in order, as spans without surrounding whitespace or leading
    list/heading markers; empty pieces are dropped."""
    sentences: list[Sentence] = []
    begin = 0
    for end in _ends(text):
        piece = text[begin:end]
        first_line = piece.lstrip("\n")
        structure = bool(_HEADING.match(first_line) or _STRUCTURE.match(first_line))
        marker = _MARKER.match(first_line)
        start = begin + (len(piece) - len(first_line)) + (marker.end() if marker else 0)
        while start < end and text[start].isspace():
            start += 1
        stop = end
        while stop > start and text[stop - 1].isspace():
            stop -= 1
        if stop > start:
            sentences.append(Sentence(start, stop, structure))
        begin = end
    return sentences


__all__ = ["Sentence", "split_sentences"]
