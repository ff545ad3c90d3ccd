"""Results as text for people: one block per hit (source, scores, excerpt), or one passage."""

from __future__ import annotations

from mcp_servers.course_search.records import PassageText, Scores, SearchResult

EXCERPT_CHARS = 300


def search_text(result: SearchResult) -> str:
    if not result.hits:
        return f"No passages found for {result.query!r}."
    count = len(result.hits)
    blocks = [f"{count} passage{'s' if count > 1 else ''} for {result.query!r} ({result.mode}):"]
    for rank, hit in enumerate(result.hits, start=1):
        page = f" (page {hit.page})" if hit.page is not None else ""
        blocks.append(
            f"{rank}. {hit.source}{page}  {scores_text(hit.scores)}\n   {excerpt(hit.text)}"
        )
    return "\n\n".join(blocks)


def passage_text(passage: PassageText) -> str:
    page = f" (page {passage.page})" if passage.page is not None else ""
    heading = f" — {passage.heading}" if passage.heading else ""
    cut = "\n[… cut: the passage is longer]" if passage.truncated else ""
    return f"{passage.source}{page}{heading}\n\n{passage.text}{cut}"


def scores_text(scores: Scores) -> str:
    parts = [
        f"{name} {value:.4f}"
        for name, value in (("fused", scores.fused), ("dense", scores.dense), ("bm25", scores.bm25))
        if value is not None
    ]
    return ", ".join(parts)


def excerpt(text: str) -> str:
    """The passage on one line, cut at a word near ``EXCERPT_CHARS``."""
    flat = " ".join(text.split())
    if len(flat) <= EXCERPT_CHARS:
        return flat
    cut = flat[:EXCERPT_CHARS].rsplit(" ", 1)[0] or flat[:EXCERPT_CHARS]
    return cut + " …"
