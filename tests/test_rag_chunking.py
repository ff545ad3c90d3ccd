import itertools
import re
from pathlib import Path

import pytest

from assistant.rag.chunking import chunk_document
from assistant.rag.loaders import LoadedDocument, TextLine
from tests.rag_support import tiny_embedder

_TOKEN = re.compile(r"[\u4e00-\u9fff]|[^\s\u4e00-\u9fff]+")


class WordCounter:
    """Whitespace words and single Han characters count as tokens."""

    def count(self, texts: list[str]) -> list[int]:
        return [len(_TOKEN.findall(t)) for t in texts]

    def offsets(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in _TOKEN.finditer(text)]


def _doc(text: str, kind: str = "text") -> LoadedDocument:
    lines = [TextLine(i, t) for i, t in enumerate(text.splitlines(), start=1)]
    return LoadedDocument(Path(f"x.{kind}"), kind, lines)


def test_chunks_respect_the_budget_and_cover_every_line() -> None:
    text = "\n".join(f"line {i} has five words" for i in range(1, 41))
    chunks = chunk_document(_doc(text), WordCounter(), max_tokens=20, overlap=5)
    counter = WordCounter()
    assert all(n <= 20 for n in counter.count([c.embed_text for c in chunks]))
    covered = set()
    for c in chunks:
        covered.update(range(c.start_line, c.end_line + 1))
        assert c.text.splitlines()[0] == f"line {c.start_line} has five words"
    assert covered == set(range(1, 41))


def test_overlap_repeats_the_tail_of_the_previous_chunk() -> None:
    text = "\n".join(f"w{i} a b c d" for i in range(1, 21))
    chunks = chunk_document(_doc(text), WordCounter(), max_tokens=20, overlap=5)
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.start_line == prev.end_line  # one five-token line carried over
    no_overlap = chunk_document(_doc(text), WordCounter(), max_tokens=20, overlap=0)
    for prev, nxt in itertools.pairwise(no_overlap):
        assert nxt.start_line == prev.end_line + 1


def test_markdown_headings_start_sections_and_travel_with_chunks() -> None:
    text = (
        "# Course\n## Decoding\nGreedy picks the best.\n```\n# not a heading\n```\n## Beams\nBeam."
    )
    chunks = chunk_document(_doc(text, "markdown"), WordCounter(), max_tokens=50, overlap=0)
    assert [(c.start_line, c.end_line, c.heading) for c in chunks] == [
        (1, 6, "Course > Decoding"),
        (7, 8, "Course > Beams"),
    ]
    assert chunks[1].embed_text.startswith("## Beams")  # its own heading line, not repeated


def test_org_headings() -> None:
    text = "* Attention\nQueries and keys.\n** Heads\nMany heads."
    chunks = chunk_document(_doc(text, "org"), WordCounter(), max_tokens=50, overlap=0)
    assert [c.heading for c in chunks] == ["Attention", "Attention > Heads"]
    assert chunks[1].embed_text == "** Heads\nMany heads."


def test_a_long_line_is_split_at_sentences_then_tokens_keeping_its_line_number() -> None:
    sentence = "This sentence has exactly seven words. "
    text = "intro\n" + sentence * 10 + "x " * 100
    chunks = chunk_document(_doc(text), WordCounter(), max_tokens=30, overlap=0)
    assert all(n <= 30 for n in WordCounter().count([c.text for c in chunks]))
    assert chunks[0].start_line == 1
    assert all(c.end_line == 2 for c in chunks)
    joined = " ".join(c.text if c.start_line == 2 else c.text[len("intro\n") :] for c in chunks)
    assert joined.split() == (sentence * 10 + "x " * 100).split()


def test_cjk_text_without_spaces_is_split() -> None:
    text = "機器學習是人工智慧的一個分支。" * 30
    chunks = chunk_document(_doc(text), WordCounter(), max_tokens=40, overlap=0)
    assert len(chunks) > 5
    assert all(n <= 40 for n in WordCounter().count([c.text for c in chunks]))
    assert "".join(c.text for c in chunks) == text


def test_pdf_pages_never_share_a_chunk() -> None:
    lines = [TextLine(1, "page one text", 1), TextLine(1, "page two text", 2)]
    chunks = chunk_document(
        LoadedDocument(Path("a.pdf"), "pdf", lines), WordCounter(), max_tokens=50, overlap=0
    )
    assert [(c.page, c.text) for c in chunks] == [(1, "page one text"), (2, "page two text")]


def test_real_tokenizer_never_exceeds_the_model_limit() -> None:
    embedder = tiny_embedder()
    limit = embedder.max_tokens
    text = "\n".join(
        ["# Heading with several words in it"]
        + ["Zażółć gęślą jaźń, Съешь же ещё этих мягких булок. 日本語のテキスト。" * 3] * 8
        + ["x" * 500]
    )
    chunks = chunk_document(_doc(text, "markdown"), embedder, max_tokens=limit, overlap=8)
    assert chunks
    assert max(embedder.count([c.embed_text for c in chunks])) <= limit


def test_empty_document_has_no_chunks() -> None:
    assert chunk_document(_doc("\n\n  \n"), WordCounter(), max_tokens=20, overlap=0) == []
    with pytest.raises(ValueError):
        chunk_document(_doc("a"), WordCounter(), max_tokens=2, overlap=0)


def test_lines_of_table_borders_alone_are_left_out_and_line_numbers_kept() -> None:
    # A scraped page: every line of text between runs of bare table borders.
    text = "|\n||\n|\nfirst real line\n|\n||\n| |\nsecond real line\n|\n| a | b |\n||"
    (chunk,) = chunk_document(_doc(text), WordCounter(), max_tokens=50, overlap=0)
    assert chunk.text == "first real line\nsecond real line\n| a | b |"  # a table row stays
    assert (chunk.start_line, chunk.end_line) == (4, 10)
    assert chunk_document(_doc("|\n||\n |  |\n"), WordCounter(), max_tokens=50, overlap=0) == []


def test_blank_lines_become_one_paragraph_break_and_borders_none() -> None:
    text = "first paragraph\ngoes on\n\n\n\nsecond paragraph\n|\n||\nstill the second"
    (chunk,) = chunk_document(_doc(text), WordCounter(), max_tokens=50, overlap=0)
    assert chunk.text == "first paragraph\ngoes on\n\nsecond paragraph\nstill the second"
