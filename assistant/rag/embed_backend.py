"""What every embedding backend offers the embedder: token counts for chunking and vectors."""

from __future__ import annotations

from typing import Literal, Protocol

import numpy as np

# Asymmetric models (e5) embed a search query and a stored passage differently.
EncodeKind = Literal["passage", "query"]


class EmbedBackend(Protocol):
    dim: int
    max_tokens: int  # per text, beside the special tokens (and any prefix) the model adds
    # Identity of the sparse latent-term vectors ``sparse`` makes; None when it makes none.
    sparse_id: str | None

    def count(self, texts: list[str]) -> list[int]: ...

    def offsets(self, text: str) -> list[tuple[int, int]]: ...

    def encode(self, texts: list[str], *, kind: EncodeKind, batch_size: int) -> np.ndarray: ...

    def sparse(self, texts: list[str], *, kind: EncodeKind) -> list[tuple[np.ndarray, np.ndarray]]:
        """Sparse latent-term vectors (feature ids, weights), one per text; only called when
        ``sparse_id`` is set."""
        ...
