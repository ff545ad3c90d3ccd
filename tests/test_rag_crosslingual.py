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
