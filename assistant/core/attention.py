"""Attention weights of one token over the tokens before it, for every layer and head.

Generation runs with the SDPA kernel, which never materialises the weights. Only here, on
demand and under the engine's lock, the model switches to the eager implementation for one
forward pass and back, so no generation ever runs (or slows down) with it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from assistant.core.model_window import window_at
from assistant.errors import UsageError

if TYPE_CHECKING:
    from assistant.core.engine import Engine


@dataclass(frozen=True)
class AttentionMap:
    """Where the token at ``position`` looks: ``weights[layer - 1][head - 1][j]`` is the
    weight on the window's token j (layers and heads count from 1). Each row sums to 1."""

    token_ids: tuple[int, ...]  # the window the model read, ending at ``position``
    tokens: tuple[str, ...]
    start: int  # the window's first token, in the text's positions
    position: int
    weights: tuple[tuple[tuple[float, ...], ...], ...]
    seconds: float

    @property
    def layers(self) -> int:
        return len(self.weights)

    @property
    def heads(self) -> int:
        return len(self.weights[0]) if self.weights else 0

    @property
    def truncated_tokens(self) -> int:
        return self.start

    def check_layer(self, layer: int) -> None:
        if not 1 <= layer <= self.layers:
            raise UsageError(
                f"invalid layer: the model has {self.layers} layers, give 1..{self.layers} "
                f"(got {layer})"
            )

    def check_head(self, head: int) -> None:
        if not 1 <= head <= self.heads:
            raise UsageError(
                f"invalid head: each layer has {self.heads} heads, give 1..{self.heads} "
                f"(got {head})"
            )

    def row(self, layer: int, head: int | None = None) -> tuple[float, ...]:
        """One head's weights over the window, or (head None) the mean over the heads."""
        self.check_layer(layer)
        heads = self.weights[layer - 1]
        if head is not None:
            self.check_head(head)
            return heads[head - 1]
        return tuple(sum(column) / len(heads) for column in zip(*heads, strict=True))

    def to_dict(self, layer: int, head: int | None = None) -> dict[str, Any]:
        return {
            "position": self.position,
            "window_start": self.start,
            "truncated_tokens": self.truncated_tokens,
            "layers": self.layers,
            "heads": self.heads,
            "layer": layer,
            "head": head,
            "tokens": [
                {"position": self.start + j, "token_id": token_id, "text": text}
                for j, (token_id, text) in enumerate(zip(self.token_ids, self.tokens, strict=True))
            ],
            "weights": list(self.row(layer, head)),
            "mean": list(self.row(layer)),
            "per_head": [list(row) for row in self.weights[layer - 1]],
            "seconds": self.seconds,
        }


def model_shape(engine: Engine) -> tuple[int, int]:
    """(layers, heads per layer) of the engine's model, to check a request before running."""
    config = engine.model.config
    return int(config.n_layer), int(config.n_head)


@contextmanager
def eager_attention(model: Any) -> Iterator[None]:
    """The eager implementation for the duration (callers hold the engine's lock)."""
    previous = model.config._attn_implementation
    if previous == "eager":
        yield
        return
    model.set_attn_implementation("eager")
    try:
        yield
    finally:
        model.set_attn_implementation(previous)


@torch.inference_mode()
def attention_at(
    engine: Engine, ids: Sequence[int], *, position: int | None = None
) -> AttentionMap:
    """Every layer's and head's attention of the token at ``position`` (None: the last)."""
    window = window_at(ids, position, engine.context_length)
    model = engine.model
    started = time.perf_counter()
    with engine.lock, eager_attention(model):
        out = model(
            input_ids=torch.tensor([window.ids]),
            output_attentions=True,
            use_cache=False,
            logits_to_keep=1,
        )
    attentions = out.attentions or ()
    if not attentions:
        raise UsageError("this model returns no attention weights")
    # Each entry is (batch, heads, query, key); the window's last query is the position.
    weights = tuple(
        tuple(tuple(head) for head in layer[0, :, -1, :].float().tolist()) for layer in attentions
    )
    texts = engine.token_texts
    return AttentionMap(
        token_ids=window.ids,
        tokens=tuple(texts.text(i) for i in window.ids),
        start=window.start,
        position=window.position,
        weights=weights,
        seconds=time.perf_counter() - started,
    )
