"""Matrix products for a decode step's ONE row (and a prompt's many), on kernels that read
the weights faster than ``torch.addmm``/``F.linear`` do here, still on the model's own fp32
tensors (no copies).

A decode step of a 124M-parameter model is ~50 matrix-vector products, bounded by how fast
the weights stream from memory. On the 2-core AMD EPYC (Zen 4) this project is measured on,
one thread, CPU time per step, GPT-2 small's real weights (``benchmarks/lean_forward.py
--json``, "kernels"; a shared machine, so ratios only): the 48 block matrices took 27.0 ms
through ``torch.addmm`` (MKL) and 21.7 through numpy's OpenBLAS on the same memory (a plain
``sum`` of them: 13.7); the LM head 15.8 ms through ``F.linear`` and 12.0 through oneDNN's
linear (``sum``: 5.6). A whole lean decode step took 1.31x less CPU time with them. Both
only reorder float additions (logits agree with torch's kernels to ~1e-5).

Each factory returns None where its kernel is missing or would run on threads we cannot
bound (numpy on a BLAS that threadpoolctl cannot reach); the caller keeps torch's kernel.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import torch

log = logging.getLogger(__name__)

RowProduct = Callable[[torch.Tensor], torch.Tensor]  # (n, in) -> (n, out)

# Below this a matrix stays in the CPU caches between steps and the bandwidth the faster
# kernels win is not the limit: each call's fixed cost is. The bundled model (128-wide,
# 0.2 MB matrices) decoded ~9% slower through them (one short run); GPT-2 small's matrices
# are 2.4-9.4 MB.
MIN_BYTES = 1 << 20


@functools.cache
def _openblas() -> Any | None:
    """threadpoolctl's handle on numpy's OpenBLAS, or None (not OpenBLAS, or no threadpoolctl:
    unbounded BLAS threads on a shared machine stall every step, see ``models.default_threads``)."""
    try:
        import numpy as np
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    np.ones(2) @ np.ones(2)  # numpy loads its BLAS lazily on some builds
    selected = ThreadpoolController().select(internal_api="openblas")
    return selected if selected.lib_controllers else None


class _OneBlasThread:
    """Holds numpy's OpenBLAS at one thread while any decode step needs it. Counted, so
    that two engines decoding at once (threads of one process) do not restore the other's
    limit halfway through its step."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._limiter: Any = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        openblas = _openblas()
        if openblas is None:
            yield
            return
        with self._lock:
            if self._users == 0:
                self._limiter = openblas.limit(limits=1)
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    self._limiter.restore_original_limits()
                    self._limiter = None


_ONE_BLAS_THREAD = _OneBlasThread()


def one_blas_thread() -> contextlib.AbstractContextManager[None]:
    """numpy's OpenBLAS on one thread. A one-row product is bandwidth-bound, and OpenBLAS's
    own threads next to torch's OpenMP ones fight for the cores: with torch on 2 threads on
    the loaded 2-core machine, decoding fell from 9 to 2 tok/s (CPU time) when OpenBLAS
    followed torch's count, and stayed at 9 on one."""
    return _ONE_BLAS_THREAD.held()


def conv1d_row(weight: torch.Tensor, bias: torch.Tensor) -> RowProduct | None:
    """``row @ weight + bias`` for a Conv1D's (in, out) fp32 weight, through numpy's OpenBLAS
    sgemv over the same memory. Call inside ``one_blas_thread``."""
    if not _worth_it(weight) or _openblas() is None:
        return None
    matrix = weight.detach().numpy()  # a view: no copy of the weights
    offset = bias.detach()

    def product(row: torch.Tensor) -> torch.Tensor:
        out = torch.from_numpy(row.numpy()[0] @ matrix)
        return out.add_(offset).unsqueeze(0)

    return product


def _worth_it(weight: torch.Tensor) -> bool:
    return (
        weight.dtype == torch.float32
        and weight.is_contiguous()
        and weight.numel() * weight.element_size() >= MIN_BYTES
    )


@functools.cache
def _onednn_linear() -> Callable[..., torch.Tensor] | None:
    """torch's oneDNN linear on plain (not prepacked) weights, where this build has it."""
    if not torch.backends.mkldnn.is_available():
        return None
    try:
        linear = torch.ops.mkldnn._linear_pointwise
        # Fixed values, not torch.randn: building a runner must not move the global RNG
        # that seeded sampling depends on.
        probe_weight = torch.arange(32, dtype=torch.float32).reshape(8, 4) / 32
        probe_row = torch.arange(4, dtype=torch.float32).reshape(1, 4) / 4
        got = linear(probe_row, probe_weight, None, "none", [], "")
    except (AttributeError, RuntimeError) as exc:
        log.debug("oneDNN linear unavailable: %s", exc)
        return None
    if not torch.allclose(got, probe_row @ probe_weight.t(), atol=1e-5):
        return None
    return linear


# oneDNN's matmul reads Conv1D's (in, out) weight through its transposed view (no copy):
# below ~8 rows that costs more than MKL's addmm gains; from 8 rows up it took ~13-25% less
# CPU time on GPT-2-small's matrices (512 rows: 0.87x, 8-128 rows: 0.73-0.81x).
MIN_ONEDNN_ROWS = 8


def conv1d_rows(weight: torch.Tensor, bias: torch.Tensor) -> RowProduct | None:
    """``rows @ weight + bias`` for a Conv1D's (in, out) fp32 weight and any number of rows
    (a prompt): oneDNN from ``MIN_ONEDNN_ROWS`` rows, ``torch.addmm`` below."""
    linear = _onednn_linear() if _worth_it(weight) else None
    if linear is None:
        return None
    transposed = weight.t()  # (out, in) as oneDNN's linear wants it: a view

    def product(rows: torch.Tensor) -> torch.Tensor:
        if rows.shape[0] < MIN_ONEDNN_ROWS:
            return torch.addmm(bias, rows, weight)
        return linear(rows, transposed, bias, "none", [], "")

    return product


def linear_row(weight: torch.Tensor, bias: torch.Tensor | None) -> RowProduct | None:
    """``F.linear(row, weight, bias)`` for an (out, in) fp32 weight through oneDNN."""
    linear = _onednn_linear() if _worth_it(weight) else None
    if linear is None:
        return None
    return lambda row: linear(row, weight, bias, "none", [], "")
