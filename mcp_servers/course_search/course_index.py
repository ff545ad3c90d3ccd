"""The course search itself, without MCP: query → bounded hits, source id → passage text.

It reads the index the assistant builds (``assistant.rag``) and never writes it: the store
opens SQLite read-only and immutable and reads the other files whole. Before every call it
switches to the newest generation a writer (``assistant index add --watch``) has published, so
a running server sees each commit of a concurrent indexer, never a half-written one. Calls are
served one at a time: a switch closes the previous generation's database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar, cast

from assistant.errors import AssistantError
from assistant.rag.embedder import Embedder, model_key
from assistant.rag.retriever import MODES, Mode, Passage, Retriever
from assistant.rag.store import ChunkRow, IndexStore
from assistant.settings import Settings
from mcp_servers.course_search.errors import CourseSearchError
from mcp_servers.course_search.records import (
    MAX_HIT_CHARS,
    MAX_K,
    MAX_PASSAGE_CHARS,
    MAX_QUERY_CHARS,
    Hit,
    PassageText,
    Scores,
    SearchResult,
    bounded,
)
from mcp_servers.course_search.sources import (
    EXAMPLE,
    DocumentNames,
    SourceRef,
    format_source,
    parse_source,
)

T = TypeVar("T")
RANGES_SHOWN = 8  # an unknown line range is answered with this many of the file's passages


class CourseIndex:
    """Read-only searches of the index at ``settings.index_path``, opened on first use."""

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.model = model_key(settings.embed_model)
        self._embedder = embedder
        self._retriever: Retriever | None = None
        self._names: tuple[int, DocumentNames] | None = None
        self._lock = threading.Lock()

    def search(self, query: str, k: int = 5, mode: str = "fused") -> SearchResult:
        if mode not in MODES:
            raise CourseSearchError(f"unknown mode {mode!r}: choose {', '.join(MODES)}")
        if not 1 <= k <= MAX_K:
            raise CourseSearchError(f"k must be between 1 and {MAX_K}, got {k}")
        if not query.strip():
            raise CourseSearchError("the query is empty")
        if len(query) > MAX_QUERY_CHARS:
            raise CourseSearchError(
                f"the query is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}"
            )
        checked = cast(Mode, mode)  # validated against MODES above

        def search(retriever: Retriever, names: DocumentNames) -> SearchResult:
            passages = retriever.search(query, k=k, mode=checked)
            return SearchResult(query, mode, [_hit(p, mode, names) for p in passages])

        return self._locked(search)

    def read_passage(self, source: str) -> PassageText:
        ref = parse_source(source)
        return self._locked(lambda retriever, names: _passage(retriever.store, names, ref))

    def close(self) -> None:
        with self._lock:
            if self._retriever is not None:
                self._retriever.close()
                self._retriever = None

    # -- the index, opened lazily and kept current -------------------------------------------

    def _locked(self, work: Callable[[Retriever, DocumentNames], T]) -> T:
        with self._lock:
            try:
                retriever = self._current()
                return work(retriever, self._document_names(retriever.store))
            except AssistantError as error:
                raise CourseSearchError(str(error)) from None

    def _current(self) -> Retriever:
        """The retriever over the newest generation, after checking it suits our embedder."""
        root = self.settings.index_path
        if self._retriever is None:
            if not IndexStore.exists(root):
                raise CourseSearchError(
                    f"no index at {root}: build it with `assistant index add DIR` (DIR: your "
                    "course documents), or start this server with --index pointing at one"
                )
            store = IndexStore.open(root, threads=self.settings.embed_threads)
            self._retriever = Retriever(self.settings, store, self._embedder)
        else:
            self._retriever.refresh()
        built_with = self._retriever.store.model
        if built_with != self.model:
            raise CourseSearchError(
                f"the index at {root} was built with embedding model {built_with!r} but this "
                f"server embeds queries with {self.model!r}: start it with --embed-model "
                f"{built_with!r}, or rebuild the index (`assistant index rebuild`)"
            )
        return self._retriever

    def _document_names(self, store: IndexStore) -> DocumentNames:
        """The names of the documents of ``store``'s generation (built once per generation)."""
        if self._names is None or self._names[0] != store.generation:
            documents = ((d.path, d.root) for d in store.documents())
            self._names = (store.generation, DocumentNames(documents))
        return self._names[1]


def _passage(store: IndexStore, names: DocumentNames, ref: SourceRef) -> PassageText:
    """The stored text of the passage ``ref`` names (the index's copy, not the file's)."""
    path = names.path_of(ref.name)
    if path is None:
        raise CourseSearchError(
            f"no document {ref.name!r} in the index (sources look like {EXAMPLE!r}; "
            "take one from a search hit)"
        )
    chunks = store.chunks_of(path)
    chunk = _chunk_for(chunks, ref)
    if chunk is None:
        shown = ", ".join(f"{c.start_line}-{c.end_line}" for c in chunks[:RANGES_SHOWN])
        more = ", …" if len(chunks) > RANGES_SHOWN else ""
        raise CourseSearchError(
            f"no passage of {ref.name} covers lines {ref.start_line}-{ref.end_line}; "
            f"its passages: {shown or 'none'}{more}"
        )
    text, truncated = bounded(chunk.text, MAX_PASSAGE_CHARS)
    return PassageText(
        source=format_source(names.name_of(path), chunk.start_line, chunk.end_line),
        path=path,
        start_line=chunk.start_line,
        end_line=chunk.end_line,
        page=chunk.page,
        heading=chunk.heading,
        text=text,
        truncated=truncated,
    )


def _chunk_for(chunks: list[ChunkRow], ref: SourceRef) -> ChunkRow | None:
    """The chunk with exactly these lines, else the shortest one containing them."""
    for chunk in chunks:
        if (chunk.start_line, chunk.end_line) == (ref.start_line, ref.end_line):
            return chunk
    covering = [c for c in chunks if c.start_line <= ref.start_line and ref.end_line <= c.end_line]
    return min(covering, key=lambda c: c.end_line - c.start_line, default=None)


def _hit(passage: Passage, mode: str, names: DocumentNames) -> Hit:
    text, truncated = bounded(passage.text, MAX_HIT_CHARS)
    return Hit(
        source=format_source(names.name_of(passage.path), passage.start_line, passage.end_line),
        path=passage.path,
        start_line=passage.start_line,
        end_line=passage.end_line,
        page=passage.page,
        scores=Scores(
            fused=passage.score if mode == "fused" else None,
            dense=passage.dense_score,
            bm25=passage.lexical_score,
        ),
        text=text,
        truncated=truncated,
    )
