"""A sentence-transformers model as an embedding backend (MiniLM, e5 from the hub, any path)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.errors import ModelLoadError
from assistant.rag.embed_backend import EncodeKind

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# e5 models were trained with these prefixes; without them their vectors are much weaker.
E5_PREFIXES: dict[EncodeKind, str] = {"query": "query: ", "passage": "passage: "}


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


def wants_e5_prefixes(name: str) -> bool:
    last = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].casefold()
    return last.startswith(("e5-", "multilingual-e5"))


class SentenceTransformersBackend:
    """Loads a sentence-transformers model once; counts tokens and encodes text."""

    sparse_id: str | None = None  # dense vectors only

    def __init__(self, name: str, location: str, *, threads: int) -> None:
        self.threads = threads
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
        self.prefixes = E5_PREFIXES if wants_e5_prefixes(name) else None
        # The model adds [CLS]/[SEP] (or similar) itself; chunks must fit beside them.
        special = len(self.tokenizer(self._prefixed([""], "passage")[0])["input_ids"])
        limit = (
            self.model.max_seq_length or getattr(self.tokenizer, "model_max_length", None) or 512
        )
        self.max_tokens = min(int(limit), 100_000) - special

    def _prefixed(self, texts: list[str], kind: EncodeKind) -> list[str]:
        if self.prefixes is None:
            return texts
        prefix = self.prefixes[kind]
        return [prefix + t for t in texts]

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

    def encode(self, texts: list[str], *, kind: EncodeKind, batch_size: int) -> np.ndarray:
        with torch_threads(self.threads):
            vectors = self.model.encode(
                self._prefixed(texts, kind),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def sparse(self, texts: list[str], *, kind: EncodeKind) -> list[tuple[np.ndarray, np.ndarray]]:
        raise NotImplementedError("sentence-transformers models make no sparse vectors")
