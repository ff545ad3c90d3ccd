"""English questions about a Russian seed page: the default (multilingual) embedder finds the
answer's passage by meaning alone; the English-only MiniLM does not, which is why it is no
longer the default. Only one page is indexed, so this stays a few seconds."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.rag import Embedder, Indexer, Retriever, load_questions
from assistant.rag.embedder import DEFAULT_EMBED_MODEL, MINILM_EMBED_MODEL
from assistant.rag.evaluation import Question, question_ranks
from assistant.settings import load_settings
from tests.rag_support import REPO_ROOT, SEEDS_DIR

pytestmark = pytest.mark.slow

RUSSIAN_PAGE = "001_99fd41cfb990a707.txt"


@pytest.fixture(scope="module")
def english_questions() -> list[Question]:
    questions = load_questions(REPO_ROOT / "tests" / "data" / "seed_questions.jsonl")
    chosen = [q for q in questions if q.source == RUSSIAN_PAGE and q.question.isascii()]
    assert len(chosen) >= 2
    return chosen


def _dense_ranks(model: str, questions: list[Question], tmp_path: Path) -> list[int | None]:
    assert SEEDS_DIR.is_dir(), f"seed pages not found at {SEEDS_DIR} (shared/ beside the repo)"
    folder = tmp_path / "pages"
    folder.mkdir()
    shutil.copy(SEEDS_DIR / RUSSIAN_PAGE, folder / RUSSIAN_PAGE)
    embedder = Embedder(model, threads=1)
    settings = load_settings({"index_dir": tmp_path / "index", "embed_model": model})
    Indexer(settings, embedder=embedder).add([folder])
    retriever = Retriever.open(settings, embedder=embedder)
    try:
        found = question_ranks(retriever, questions, k=2, modes=("dense",))["dense"]
    finally:
        retriever.close()
    return [rank for rank, _ in found]


def test_the_default_embedder_answers_english_questions_over_a_russian_page(
    english_questions: list[Question], tmp_path: Path
) -> None:
    ranks = _dense_ranks(DEFAULT_EMBED_MODEL, english_questions, tmp_path)
    assert all(rank is not None for rank in ranks), list(zip(english_questions, ranks, strict=True))


def test_the_english_only_model_misses_them(
    english_questions: list[Question], tmp_path: Path
) -> None:
    ranks = _dense_ranks(MINILM_EMBED_MODEL, english_questions, tmp_path)
    assert any(rank is None for rank in ranks)


POLISH_PAGE = "000_6ef2857d9cb9874a.txt"


def test_the_sparse_latent_terms_find_what_dense_and_bm25_miss(tmp_path: Path) -> None:
    """One index of the Polish page, searched with and without the sparse list: an English
    question about its masking recipe is found only with it (k = 3; rank 4 without)."""
    questions = load_questions(REPO_ROOT / "tests" / "data" / "seed_questions.jsonl")
    (question,) = [q for q in questions if q.question.startswith("What share of the selected")]
    folder = tmp_path / "pages"
    folder.mkdir()
    shutil.copy(SEEDS_DIR / POLISH_PAGE, folder / POLISH_PAGE)
    embedder = Embedder(DEFAULT_EMBED_MODEL, threads=1)
    settings = load_settings(
        {"index_dir": tmp_path / "index", "embed_model": DEFAULT_EMBED_MODEL, "sparse_terms": True}
    )
    Indexer(settings, embedder=embedder).add([folder])
    ranks = {}
    for sparse in (True, False):
        on = settings.model_copy(update={"sparse_terms": sparse})
        retriever = Retriever.open(on, embedder=embedder)
        try:
            assert retriever.store.sparse_id is not None
            assert retriever.store.sparse_id == embedder.sparse_id
            found = question_ranks(retriever, [question], k=3, modes=("fused",))["fused"]
            ((rank, passages),) = found
            ranks[sparse] = rank
            scored = [p for p in passages if p.sparse_score is not None]
            assert bool(scored) == sparse  # the list is in the fusion only when it is on
        finally:
            retriever.close()
    assert ranks[True] is not None and ranks[False] is None, ranks
