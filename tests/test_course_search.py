"""The course search's logic without MCP: bounded hits, source ids, passages, refusals.

Over a real index (FAISS + SQLite + BM25) built with the tiny embedder; the MCP side (stdio,
HTTP, a concurrent writer) is in test_course_search_mcp.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.rag import Indexer
from assistant.settings import Settings
from mcp_servers.course_search.course_index import CourseIndex
from mcp_servers.course_search.errors import CourseSearchError
from mcp_servers.course_search.readable import EXCERPT_CHARS, excerpt, passage_text, search_text
from mcp_servers.course_search.records import MAX_HIT_CHARS, MAX_K, MAX_PASSAGE_CHARS
from mcp_servers.course_search.sources import DocumentNames, SourceRef, parse_source
from tests.course_search_support import snapshot, write_course
from tests.rag_support import rag_settings, tiny_embedder


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Settings]:
    root = tmp_path_factory.mktemp("course")
    documents = write_course(root / "corpus")
    settings = rag_settings(root / "index")
    Indexer(settings, embedder=tiny_embedder()).add([documents])
    return documents, settings


@pytest.fixture(scope="module")
def index(course: tuple[Path, Settings]) -> CourseIndex:
    return CourseIndex(course[1], embedder=tiny_embedder())


# --- search -------------------------------------------------------------------------------------


def test_hits_are_named_by_folder_and_lines_with_every_score(
    index: CourseIndex, course: tuple[Path, Settings]
) -> None:
    documents, _ = course
    result = index.search("beam search", k=3)
    assert result.query == "beam search" and result.mode == "fused"
    assert 1 <= len(result.hits) <= 3
    top = result.hits[0]
    assert top.source == f"corpus/decoding.md:{top.start_line}-{top.end_line}"
    assert top.path == str(documents / "decoding.md")
    assert "Beam search keeps the best partial sequences." in top.text
    assert top.page is None and not top.truncated
    assert top.scores.fused is not None and top.scores.dense is not None
    assert top.scores.bm25 is not None and top.scores.bm25 > 0
    fused = [hit.scores.fused for hit in result.hits]
    assert fused == sorted(fused, reverse=True)  # type: ignore[type-var]


def test_a_file_in_a_subfolder_and_single_list_modes(index: CourseIndex) -> None:
    (hit,) = index.search("Warsaw", k=1, mode="lexical").hits
    assert hit.source == "corpus/sub/cities.txt:1-2"
    assert hit.scores.fused is None and hit.scores.dense is None
    assert hit.scores.bm25 is not None and hit.scores.bm25 > 0
    dense = index.search("Warsaw", k=MAX_K, mode="dense").hits
    assert dense and all(h.scores.fused is None and h.scores.dense is not None for h in dense)
    assert len(dense) <= MAX_K


def test_long_passages_are_cut_in_hits_and_bounded_in_read_passage(index: CourseIndex) -> None:
    (hit,) = index.search("zebra3", k=1, mode="lexical").hits
    assert hit.source.startswith("corpus/long.md:")
    assert hit.truncated and len(hit.text) == MAX_HIT_CHARS
    passage = index.read_passage(hit.source)
    assert passage.text.startswith(hit.text)
    assert passage.truncated and len(passage.text) == MAX_PASSAGE_CHARS
    assert "[… cut" in passage_text(passage)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"query": "beam", "k": 0}, f"k must be between 1 and {MAX_K}, got 0"),
        ({"query": "beam", "k": MAX_K + 1}, f"k must be between 1 and {MAX_K}"),
        ({"query": "beam", "mode": "hybrid"}, "unknown mode 'hybrid': choose fused, dense"),
        ({"query": "   "}, "the query is empty"),
        ({"query": "x" * 2001}, "the query is 2001 characters long; the limit is 2000"),
    ],
)
def test_bad_search_arguments_are_refused(
    index: CourseIndex, arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(CourseSearchError, match="^" + message.replace("(", r"\(")):
        index.search(**arguments)  # type: ignore[arg-type]


# --- read_passage -------------------------------------------------------------------------------


def test_every_hit_reads_back_by_its_source(index: CourseIndex) -> None:
    hits = index.search("decoding attention city", k=MAX_K).hits
    assert len(hits) >= 4
    for hit in hits:
        passage = index.read_passage(hit.source)
        assert passage.source == hit.source and passage.path == hit.path
        assert passage.text.startswith(hit.text)


def test_read_passage_takes_lines_inside_a_passage_page_suffixes_and_absolute_paths(
    index: CourseIndex, course: tuple[Path, Settings]
) -> None:
    documents, _ = course
    (beam,) = index.search("Beam", k=1, mode="lexical").hits
    inside = index.read_passage(f"corpus/decoding.md:{beam.end_line}")
    assert inside.source == beam.source
    assert inside.heading.endswith("Beam search")
    assert index.read_passage(f"{beam.source} (page 2)").source == beam.source
    absolute = index.read_passage(f"{documents / 'decoding.md'}:{beam.start_line}-{beam.end_line}")
    assert absolute.source == beam.source and absolute.text == beam.text


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("corpus/decoding.md", "is not FILE:START-END"),
        ("", "is not FILE:START-END"),
        ("corpus/decoding.md:7-5", "has an empty line range"),
        ("corpus/decoding.md:0", "has an empty line range"),
        ("corpus/nope.md:1-2", "no document 'corpus/nope.md' in the index"),
        ("decoding.md:1-3", "no document 'decoding.md' in the index"),
        ("corpus/decoding.md:40-50", "no passage of corpus/decoding.md covers lines 40-50"),
    ],
)
def test_unknown_sources_are_refused(index: CourseIndex, source: str, message: str) -> None:
    with pytest.raises(CourseSearchError, match=message):
        index.read_passage(source)


def test_an_unknown_range_lists_the_files_passages(index: CourseIndex) -> None:
    with pytest.raises(CourseSearchError) as caught:
        index.read_passage("corpus/decoding.md:40-50")
    ranges = str(caught.value).split("its passages: ")[1].split(", ")
    hits = index.search("decoding beam greedy", k=MAX_K).hits
    own = {f"{h.start_line}-{h.end_line}" for h in hits if h.source.startswith("corpus/decoding")}
    assert own and own <= set(ranges)


# --- the index: missing, mismatched, never written ----------------------------------------------


def test_a_missing_index_says_how_to_build_it_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "no-index"
    index = CourseIndex(rag_settings(missing), embedder=tiny_embedder())
    with pytest.raises(CourseSearchError, match=r"^no index at .*`assistant index add DIR`"):
        index.search("beam")
    with pytest.raises(CourseSearchError, match=r"^no index at"):
        index.read_passage("corpus/decoding.md:1-3")
    assert not missing.exists()


def test_an_index_of_another_embedding_model_is_refused(course: tuple[Path, Settings]) -> None:
    _, settings = course
    other = rag_settings(settings.index_path, embed_model="all-MiniLM-L6-v2")
    index = CourseIndex(other)  # no embedder: the refusal comes before any model is loaded
    for mode in ("fused", "lexical"):
        with pytest.raises(CourseSearchError) as caught:
            index.search("beam", mode=mode)
        message = str(caught.value)
        assert f"built with embedding model {settings.embed_model!r}" in message
        assert "embeds queries with 'all-MiniLM-L6-v2'" in message
        assert "--embed-model" in message and "assistant index rebuild" in message


def test_searching_and_reading_never_write_the_index(tmp_path: Path) -> None:
    documents = write_course(tmp_path / "corpus")
    settings = rag_settings(tmp_path / "index")
    Indexer(settings, embedder=tiny_embedder()).add([documents])
    before = snapshot(settings.index_path)
    index = CourseIndex(settings, embedder=tiny_embedder())
    for mode in ("fused", "dense", "lexical"):
        for hit in index.search("beam search decoding", k=MAX_K, mode=mode).hits:
            index.read_passage(hit.source)
    with pytest.raises(CourseSearchError):
        index.read_passage("corpus/nope.md:1-2")
    index.close()
    assert snapshot(settings.index_path) == before  # no journal, WAL or lock file either


# --- sources and text ---------------------------------------------------------------------------


def test_parse_source() -> None:
    assert parse_source("corpus/decoding.md:29-31") == SourceRef("corpus/decoding.md", 29, 31)
    assert parse_source(" notes/a b.md:7 ") == SourceRef("notes/a b.md", 7, 7)
    assert parse_source("c:/x.md:2-4 (page 3)") == SourceRef("c:/x.md", 2, 4)
    with pytest.raises(CourseSearchError):
        parse_source("corpus/decoding.md:29-")


def test_document_names_are_relative_to_their_folder_unless_ambiguous() -> None:
    names = DocumentNames(
        [
            ("/a/notes/x.md", "/a/notes"),
            ("/b/notes/x.md", "/b/notes"),  # a second folder called notes: absolute names
            ("/c/corpus/sub/y.md", "/c/corpus"),
            ("/d/single.md", "/d/single.md"),  # a file indexed on its own
        ]
    )
    assert names.name_of("/a/notes/x.md") == "/a/notes/x.md"
    assert names.name_of("/c/corpus/sub/y.md") == "corpus/sub/y.md"
    assert names.name_of("/d/single.md") == "/d/single.md"
    assert names.path_of("corpus/sub/y.md") == "/c/corpus/sub/y.md"
    assert names.path_of("/c/corpus/sub/y.md") == "/c/corpus/sub/y.md"
    assert names.path_of("notes/x.md") is None


def test_search_text_is_one_block_per_hit(index: CourseIndex) -> None:
    result = index.search("zebra1 beam", k=4)
    text = search_text(result)
    blocks = text.split("\n\n")
    assert blocks[0] == f"{len(result.hits)} passages for 'zebra1 beam' (fused):"
    for rank, (block, hit) in enumerate(zip(blocks[1:], result.hits, strict=True), start=1):
        head, body = block.split("\n")
        assert head.startswith(f"{rank}. {hit.source}  fused ")
        assert len(body.strip()) <= EXCERPT_CHARS + 2
    assert excerpt("a  b\n c") == "a b c"
    one = search_text(index.search("Warsaw", k=1, mode="lexical"))
    assert one.startswith("1 passage for 'Warsaw' (lexical):\n\n1. corpus/sub/cities.txt:1-2")
    none = index.search("xylophone", mode="lexical")
    assert not none.hits and search_text(none) == "No passages found for 'xylophone'."
