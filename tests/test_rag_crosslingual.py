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


@pytest.mark.parametrize("scope", ["all", "cross-lingual"])
def test_the_sparse_latent_terms_find_what_dense_and_bm25_miss(scope: str, tmp_path: Path) -> None:
    """One index of the Polish page, searched with and without the sparse list: an English
    question about its masking recipe is found only with it (k = 3; rank 4 without), whether
    every chunk has sparse vectors or only those not in English (the default)."""
    questions = load_questions(REPO_ROOT / "tests" / "data" / "seed_questions.jsonl")
    (question,) = [q for q in questions if q.question.startswith("What share of the selected")]
    folder = tmp_path / "pages"
    folder.mkdir()
    shutil.copy(SEEDS_DIR / POLISH_PAGE, folder / POLISH_PAGE)
    embedder = Embedder(DEFAULT_EMBED_MODEL, threads=1)
    settings = load_settings(
        {"index_dir": tmp_path / "index", "embed_model": DEFAULT_EMBED_MODEL, "sparse_terms": scope}
    )
    Indexer(settings, embedder=embedder).add([folder])
    ranks = {}
    for sparse in (scope, "off"):
        on = settings.model_copy(update={"sparse_terms": sparse})
        retriever = Retriever.open(on, embedder=embedder)
        try:
            assert retriever.store.sparse_id is not None
            assert retriever.store.sparse_id == embedder.sparse_id
            assert retriever.store.sparse_scope == scope
            found = question_ranks(retriever, [question], k=3, modes=("fused",))["fused"]
            ((rank, passages),) = found
            ranks[sparse] = rank
            scored = [p for p in passages if p.sparse_score is not None]
            assert bool(scored) == (sparse != "off")  # in the fusion only when it is on
        finally:
            retriever.close()
    assert ranks[scope] is not None and ranks["off"] is None, ranks


def test_cross_lingual_terms_bridge_english_questions_to_the_other_pages(tmp_path: Path) -> None:
    """The default scope in a folder of English notes and a Russian page: only the Russian
    page's chunks get sparse vectors (the English notes skip the sparse pass), and a fused
    search adds the list for an English question but not for a Russian one."""
    folder = tmp_path / "pages"
    folder.mkdir()
    shutil.copy(SEEDS_DIR / RUSSIAN_PAGE, folder / RUSSIAN_PAGE)
    shutil.copy(REPO_ROOT / "corpus" / "gpt-family.md", folder / "gpt-family.md")
    embedder = Embedder(DEFAULT_EMBED_MODEL, threads=1)
    settings = load_settings({"index_dir": tmp_path / "index", "embed_model": DEFAULT_EMBED_MODEL})
    assert settings.sparse_terms == "cross-lingual"
    Indexer(settings, embedder=embedder).add([folder])
    english = "How many parameters does GPT-3 have?"
    russian = "Сколько текста использовали для обучения GPT-3?"
    retriever = Retriever.open(settings, embedder=embedder)
    try:
        store = retriever.store
        assert store.sparse_scope == "cross-lingual"
        every = store.search_sparse(embedder.sparse([english], kind="query")[0], 10_000)
        paths = {row.path for row in store.chunks([cid for cid, _ in every]).values()}
        assert paths and all(p.endswith(RUSSIAN_PAGE) for p in paths), paths
        on_english = retriever.search(english, k=20)  # deep enough to reach the Russian page
        assert any(p.sparse_score is not None for p in on_english)
        assert all(p.path.endswith(RUSSIAN_PAGE) for p in on_english if p.sparse_score is not None)
        on_russian = retriever.search(russian, k=5)
        assert on_russian and all(p.sparse_score is None for p in on_russian)
        assert retriever.search(russian, k=5, mode="sparse")  # asked for, it is shown
    finally:
        retriever.close()


def test_an_english_folder_in_the_default_scope_never_runs_the_sparse_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """English notes alone: no chunk gets a sparse vector, so an English question's fused
    search neither embeds the question's sparse terms (~9 ms) nor changes its ranking."""
    folder = tmp_path / "pages"
    folder.mkdir()
    shutil.copy(REPO_ROOT / "corpus" / "gpt-family.md", folder / "gpt-family.md")
    embedder = Embedder(DEFAULT_EMBED_MODEL, threads=1)
    calls: list[list[str]] = []
    real_sparse = embedder.sparse

    def counted(texts: list[str], **kwargs: object) -> object:
        calls.append(list(texts))
        return real_sparse(texts, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(embedder, "sparse", counted)
    settings = load_settings({"index_dir": tmp_path / "index", "embed_model": DEFAULT_EMBED_MODEL})
    Indexer(settings, embedder=embedder).add([folder])
    assert all(not texts for texts in calls)  # no chunk was in scope
    retriever = Retriever.open(settings, embedder=embedder)
    try:
        assert retriever.store.sparse_scope == "cross-lingual"
        assert retriever.store.sparse_chunks == 0
        question = "How many parameters does GPT-3 have?"
        passages = retriever.search(question, k=5)
        assert passages and all(p.sparse_score is None for p in passages)
        assert all(not texts for texts in calls)
    finally:
        retriever.close()
    off = Retriever.open(settings.model_copy(update={"sparse_terms": "off"}), embedder=embedder)
    try:
        assert [p.chunk_id for p in off.search(question, k=5)] == [p.chunk_id for p in passages]
    finally:
        off.close()
