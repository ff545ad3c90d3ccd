"""What the decode loop needs from a model: a KV cache it can keep, crop and extend, and the
next-token logits after feeding ids into it.

Two implementations: ``HFRunner`` (the Hugging Face model itself, the reference path for
every architecture) and ``core.lean_gpt2.LeanRunner`` (GPT-2's forward written out on the
same weights, measurably faster per token). A cache belongs to the runner that made it;
runners over the same architecture and shapes (fp32 and its int8 twin) may share one.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from transformers import DynamicCache

from assistant.core.hf_cache import preallocated_cache


class KVCache(Protocol):
    """Keys and values for the first ``length`` ids fed into it."""

    @property
    def length(self) -> int: ...

    def crop(self, length: int) -> None:
        """Forget everything after the first ``length`` positions."""

    def layer_states(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Each layer's keys and values for the ``length`` positions, shape (1, heads,
        length, head_dim): what another decoder (HF's beam search) can start from."""


class Runner(Protocol):
    name: str  # "hf" or "lean": shown in benchmarks and the model info

    def new_cache(self, capacity: int) -> KVCache:
        """An empty cache with room for ``capacity`` positions (it grows if needed)."""

    def forward(self, ids: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """Feed ``ids`` (shape (1, n), n ≥ 1) after the cache's positions; the cache grows by
        n. Returns the fp32 logits of the last position, shape (vocabulary,)."""


class HFCache:
    """A transformers DynamicCache (preallocated where the model allows) and its length."""

    def __init__(self, cache: DynamicCache | None) -> None:
        self.cache = cache  # None until the model builds its own at the first forward
        self._length = 0

    @property
    def length(self) -> int:
        return self._length

    def crop(self, length: int) -> None:
        if length < self._length and self.cache is not None:
            self.cache.crop(length - self._length)  # transformers 5.x: minus what to drop
        self._length = min(self._length, length)

    def layer_states(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        if self.cache is None or not self._length:
            return []
        n = self._length
        states = []
        for layer in self.cache.layers:
            keys, values = getattr(layer, "keys", None), getattr(layer, "values", None)
            if not isinstance(keys, torch.Tensor) or not isinstance(values, torch.Tensor):
                return []  # a layer kind without plain keys and values: nothing to hand on
            states.append((keys[:, :, :n], values[:, :, :n]))
        return states


class HFRunner:
    """The Hugging Face model's own forward: every architecture, the reference for the tests."""

    name = "hf"

    def __init__(self, model: Any) -> None:
        self.model = model

    def new_cache(self, capacity: int) -> HFCache:
        return HFCache(preallocated_cache(self.model, capacity))

    def forward(self, ids: torch.Tensor, cache: KVCache) -> torch.Tensor:
        assert isinstance(cache, HFCache)
        # transformers 5.x names the KV cache `cache`; logits of the last position only (the
        # LM head over every prompt position would be a vocabulary-sized matmul per token).
        out = self.model(input_ids=ids, cache=cache.cache, use_cache=True, logits_to_keep=1)
        cache.cache = out.cache
        cache._length += int(ids.shape[-1])
        return out.logits[0, -1].float()
