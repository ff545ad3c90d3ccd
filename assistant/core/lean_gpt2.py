"""GPT-2's forward written out on the Hugging Face model's own weight tensors (nanoGPT-style),
for decoding one sequence with the least work per token.

What it saves over ``GPT2LMHeadModel.forward`` (see ``benchmarks/lean_forward.py``): no
module calls, hooks or output dataclasses per layer, no attention-mask construction (prefill
from an empty cache is SDPA's ``is_causal``; one new token attends to everything cached), a
KV cache preallocated per layer and written in place, the LM head only over the last
position, one fused GELU kernel. The fp32 weights are used where they lie: Conv1D's
``weight``/``bias`` through ``torch.addmm`` (exactly what Conv1D computes) for a prompt, and
for a one-row decode step the faster kernels of ``core.row_kernels`` on the same tensors;
an int8 twin from ``models.quantize_int8`` has packed weights, so its projections are called
as the quantized modules they are.

``unsupported_reason`` names what this forward does not reproduce; the caller then keeps
HF's model (``core.runner.HFRunner``), which stays the reference for every test.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from assistant.core import row_kernels

Projection = Callable[[torch.Tensor], torch.Tensor]  # (n, in) -> (n, out)

SUPPORTED_ACTIVATIONS = ("gelu_new", "gelu_pytorch_tanh")  # both GELU's tanh approximation
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _gelu_new(x: torch.Tensor) -> torch.Tensor:
    """HF's NewGELUActivation, op for op (F.gelu(approximate="tanh") differs by rounding)."""
    return 0.5 * x * (1.0 + torch.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * torch.pow(x, 3.0))))


def _gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x, approximate="tanh")  # HF's GELUTanh ("gelu_pytorch_tanh")


def unsupported_reason(model: Any) -> str | None:
    """None when the lean forward reproduces ``model`` exactly (to float rounding);
    otherwise a short reason to fall back to Hugging Face's forward."""
    from transformers import GPT2LMHeadModel

    if not isinstance(model, GPT2LMHeadModel):
        return f"{type(model).__name__} is not a GPT2LMHeadModel"
    config = model.config
    activation = getattr(config, "activation_function", None)
    if activation not in SUPPORTED_ACTIVATIONS:
        return f"activation {activation!r} is not one of {', '.join(SUPPORTED_ACTIVATIONS)}"
    if not getattr(config, "scale_attn_weights", True):
        return "unscaled attention weights (scale_attn_weights=False)"
    if getattr(config, "scale_attn_by_inverse_layer_idx", False):
        return "attention scaled by the inverse layer index"
    if getattr(config, "reorder_and_upcast_attn", False):
        return "reordered and upcast attention (reorder_and_upcast_attn)"
    if getattr(config, "add_cross_attention", False):
        return "cross-attention layers"
    if config.n_embd % config.n_head:
        return f"n_embd {config.n_embd} is not divisible by n_head {config.n_head}"
    if model.training:
        return "the model is in training mode (dropout)"
    if model.transformer.wte.weight.dtype != torch.float32:
        return f"embeddings are {model.transformer.wte.weight.dtype}, not float32"
    return None


# ---------------------------------------------------------------------- the cache
class LeanCache:
    """Keys and values of every layer in buffers of shape (1, heads, capacity, head_dim),
    written in place; the first ``length`` positions are valid. Doubles when full."""

    def __init__(self, layers: int, heads: int, head_dim: int, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"cache capacity must be at least 1 (got {capacity})")
        self.layers, self.heads, self.head_dim = layers, heads, head_dim
        self.capacity = capacity
        self._length = 0
        self.keys = [self._buffer(capacity) for _ in range(layers)]
        self.values = [self._buffer(capacity) for _ in range(layers)]

    def _buffer(self, capacity: int) -> torch.Tensor:
        # Outside inference mode, so that the buffers stay writable wherever the caller
        # runs (an inference tensor cannot be updated in place outside inference mode).
        with torch.inference_mode(False):
            return torch.empty((1, self.heads, capacity, self.head_dim), dtype=torch.float32)

    @property
    def length(self) -> int:
        return self._length

    def crop(self, length: int) -> None:
        """Forget positions >= ``length`` (the buffers keep their capacity)."""
        if length < 0:
            raise ValueError(f"cannot crop a cache to a negative length ({length})")
        self._length = min(self._length, length)

    def reserve(self, end: int) -> None:
        """Make room for positions up to ``end`` (exclusive), doubling the capacity."""
        if end <= self.capacity:
            return
        capacity = max(end, 2 * self.capacity)
        for buffers in (self.keys, self.values):
            for index, old in enumerate(buffers):
                new = self._buffer(capacity)
                new[:, :, : self._length] = old[:, :, : self._length]
                buffers[index] = new
        self.capacity = capacity

    def layer_states(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        n = self._length
        return [(k[:, :, :n], v[:, :, :n]) for k, v in zip(self.keys, self.values, strict=True)]

    def fits(self, layers: int, heads: int, head_dim: int) -> bool:
        return (self.layers, self.heads, self.head_dim) == (layers, heads, head_dim)


# ---------------------------------------------------------------------- the weights
KERNELS = ("fast", "torch")  # fast: core.row_kernels where they pay; torch: torch only


@dataclass(frozen=True)
class _Projection:
    """One weight matrix: a call for any number of rows, and one for a single row (a decode
    step's matrix-vector product, where a faster kernel may exist)."""

    rows: Projection
    row: Projection
    row_on_numpy: bool = False  # the one-row call runs numpy's BLAS (bound its threads)

    @classmethod
    def of(cls, module: nn.Module, kernels: str) -> _Projection:
        from transformers.pytorch_utils import Conv1D

        if isinstance(module, Conv1D):  # GPT-2's fp32 layers: Conv1D.forward is this addmm
            weight, bias = module.weight, module.bias
            rows: Projection = lambda h: torch.addmm(bias, h, weight)  # noqa: E731
            if kernels == "torch":
                return cls(rows, rows)
            fast_rows = row_kernels.conv1d_rows(weight, bias) or rows
            numpy_row = row_kernels.conv1d_row(weight, bias)
            return cls(fast_rows, numpy_row or fast_rows, numpy_row is not None)
        if type(module) is nn.Linear:  # a head, or conv1d_to_linear without quantization
            linear_weight, linear_bias = module.weight, module.bias
            rows = lambda h: F.linear(h, linear_weight, linear_bias)  # noqa: E731
            fast = row_kernels.linear_row(linear_weight, linear_bias) if kernels == "fast" else None
            return cls(rows, fast or rows)
        # Packed int8 weights: the quantized module is the only way in (forward, not
        # __call__: no hook machinery per call).
        return cls(module.forward, module.forward)


@dataclass(frozen=True)
class _Norm:
    weight: torch.Tensor
    bias: torch.Tensor
    eps: float

    @classmethod
    def of(cls, module: nn.LayerNorm) -> _Norm:
        return cls(module.weight, module.bias, float(module.eps))


@dataclass(frozen=True)
class _Layer:
    ln_1: _Norm
    qkv: _Projection  # GPT-2's c_attn: queries, keys and values in one matmul
    attn_out: _Projection
    ln_2: _Norm
    mlp_in: _Projection
    mlp_out: _Projection


def _norm(x: torch.Tensor, norm: _Norm) -> torch.Tensor:
    return F.layer_norm(x, (x.shape[-1],), norm.weight, norm.bias, norm.eps)


# ---------------------------------------------------------------------- the runner
class LeanRunner:
    """``core.runner.Runner`` over a GPT2LMHeadModel (fp32, or its int8 twin).

    ``kernels="fast"`` computes single-row steps with ``core.row_kernels`` where they exist
    (fp32 only); ``"torch"`` keeps torch's kernels everywhere (the benchmark's baseline)."""

    name = "lean"

    def __init__(self, model: Any, *, kernels: str = "fast") -> None:
        reason = unsupported_reason(model)
        if reason is not None:
            raise ValueError(f"the lean GPT-2 forward does not support this model: {reason}")
        if kernels not in KERNELS:
            raise ValueError(f"kernels must be one of {', '.join(KERNELS)} (got {kernels!r})")
        config = model.config
        body = model.transformer
        self.model = model  # kept alive: the tensors below are its own
        self.n_layer, self.n_head = int(config.n_layer), int(config.n_head)
        self.n_embd = int(config.n_embd)
        self.head_dim = self.n_embd // self.n_head
        self.n_positions = int(config.n_positions)
        self.wte = body.wte.weight
        self.wpe = body.wpe.weight
        self.layers = [
            _Layer(
                _Norm.of(block.ln_1),
                _Projection.of(block.attn.c_attn, kernels),
                _Projection.of(block.attn.c_proj, kernels),
                _Norm.of(block.ln_2),
                _Projection.of(block.mlp.c_fc, kernels),
                _Projection.of(block.mlp.c_proj, kernels),
            )
            for block in body.h
        ]
        self.ln_f = _Norm.of(body.ln_f)
        # Whether one-row steps run numpy's BLAS (only the blocks' Conv1D rows can).
        self.numpy_rows = any(
            p.row_on_numpy
            for layer in self.layers
            for p in (layer.qkv, layer.attn_out, layer.mlp_in, layer.mlp_out)
        )
        # fp32: the (tied) embedding matrix, read in place; int8 twin: its quantized copy.
        self.lm_head = _Projection.of(model.lm_head, kernels).row  # only the last row
        self.scale = self.head_dim**-0.5
        self.activation = self._activation(config.activation_function, body.h[0].mlp.c_fc)

    @staticmethod
    def _activation(
        name: str, first_projection: nn.Module
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """F.gelu's fused tanh GELU (one kernel; HF's gelu_new formula is seven, ~40 µs more
        per GPT-2-small layer and step) except on an int8 twin with gelu_new, which follows
        HF op for op: there a rounding difference can move an activation across a
        quantization step of the next layer."""
        from transformers.pytorch_utils import Conv1D

        quantized = not isinstance(first_projection, (Conv1D, nn.Linear))
        return _gelu_new if name == "gelu_new" and quantized else _gelu_tanh

    def new_cache(self, capacity: int) -> LeanCache:
        return LeanCache(self.n_layer, self.n_head, self.head_dim, capacity)

    def forward(self, ids: torch.Tensor, cache: Any) -> torch.Tensor:
        if not isinstance(cache, LeanCache) or not cache.fits(
            self.n_layer, self.n_head, self.head_dim
        ):
            raise ValueError("the lean runner needs a LeanCache made for this model's shape")
        if ids.dim() != 2 or ids.shape[0] != 1 or ids.shape[1] < 1:
            raise ValueError(f"ids must have shape (1, n) with n >= 1 (got {tuple(ids.shape)})")
        start, n = cache.length, int(ids.shape[1])
        end = start + n
        if end > self.n_positions:
            raise ValueError(
                f"{end} positions exceed the model's context of {self.n_positions} "
                f"({start} cached + {n} new)"
            )
        cache.reserve(end)
        # One-row steps may run numpy's BLAS (core.row_kernels), bounded to one thread.
        blas = n == 1 and self.numpy_rows
        threads = row_kernels.one_blas_thread() if blas else contextlib.nullcontext()
        with torch.inference_mode(), threads:
            logits = self._forward(ids[0], cache, start, end)
        cache._length = end
        # A plain tensor (not an inference one): callers may edit logits in place.
        return logits.clone()

    def _forward(self, ids: torch.Tensor, cache: LeanCache, start: int, end: int) -> torch.Tensor:
        n, d, heads, head_dim = end - start, self.n_embd, self.n_head, self.head_dim
        x = F.embedding(ids, self.wte) + self.wpe[start:end]  # (n, d)
        mask = _attention_mask(start, end)
        one = n == 1
        for index, layer in enumerate(self.layers):
            qkv_of, attn_out, mlp_in, mlp_out = (
                (p.row if one else p.rows)
                for p in (layer.qkv, layer.attn_out, layer.mlp_in, layer.mlp_out)
            )
            qkv = qkv_of(_norm(x, layer.ln_1))  # (n, 3d)
            # (3, 1, heads, n, hd): 4-D, as SDPA's fused CPU kernels want (3-D falls back
            # to the unfused math path: 4x slower on a 512-token prefill).
            q, k, v = qkv.view(1, n, 3, heads, head_dim).permute(2, 0, 3, 1, 4)
            keys, values = cache.keys[index], cache.values[index]
            keys[:, :, start:end] = k
            values[:, :, start:end] = v
            attended = F.scaled_dot_product_attention(
                q,
                keys[:, :, :end],
                values[:, :, :end],
                attn_mask=mask,
                is_causal=start == 0 and n > 1,
                scale=self.scale,
            )  # (1, heads, n, hd)
            x = x + attn_out(attended[0].transpose(0, 1).reshape(n, d))
            x = x + mlp_out(self.activation(mlp_in(_norm(x, layer.ln_2))))
        return self.lm_head(_norm(x[-1:], self.ln_f))[0].float()


def _attention_mask(start: int, end: int) -> torch.Tensor | None:
    """None where no mask is needed: one new position sees every cached one, and a prefill
    from an empty cache is SDPA's ``is_causal``. New positions after cached ones (a re-feed
    after ``crop``) see the cache and the new ones up to themselves."""
    n = end - start
    if n == 1 or start == 0:
        return None
    return torch.ones(n, end, dtype=torch.bool).tril(diagonal=start)
