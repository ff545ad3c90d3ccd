"""The logit lens (nostalgebraist 2020): what each layer would predict if it were the last.

GPT-2 adds every block's output to one residual stream and reads the next token off its end
through the final layer norm and the unembedding. Applying that same read-out (``ln_f``, then
``lm_head``) to the stream after the embeddings and after each block shows the prediction
forming layer by layer. The last row is the model's own output, exactly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch

from assistant.core.model_window import PositionWindow, window_at
from assistant.core.sampler import rank_of
from assistant.core.types import TokenProb
from assistant.errors import UsageError

if TYPE_CHECKING:
    from assistant.core.engine import Engine

ChosenSource = Literal["text", "model"]  # the text's own next token, or the model's top-1


@dataclass(frozen=True)
class LensLayer:
    """One layer's read-out: its top tokens and where the chosen token stands in it."""

    layer: int  # 0 = the embeddings, i = after block i (the last is the model's output)
    name: str
    top: tuple[TokenProb, ...]
    chosen_rank: int  # 1-based
    chosen_prob: float
    chosen_logprob: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "name": self.name,
            "top": [_prob_dict(p) for p in self.top],
            "chosen_rank": self.chosen_rank,
            "chosen_prob": self.chosen_prob,
            "chosen_logprob": self.chosen_logprob,
        }


@dataclass(frozen=True)
class LogitLens:
    """The lens at one position of a text: one LensLayer per residual-stream read-out."""

    token_ids: tuple[int, ...]  # the tokens the model read (the window)
    tokens: tuple[str, ...]
    start: int  # the window's first token, in the text's positions
    position: int  # the position whose next token is predicted
    chosen_id: int
    chosen_text: str
    chosen_source: ChosenSource
    layers: tuple[LensLayer, ...]
    seconds: float

    @property
    def truncated_tokens(self) -> int:
        return self.start

    @property
    def context_token(self) -> str:
        """The token at ``position`` (the last one the model read)."""
        return self.tokens[-1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "context_token": self.context_token,
            "window_start": self.start,
            "truncated_tokens": self.truncated_tokens,
            "chosen": {
                "token_id": self.chosen_id,
                "text": self.chosen_text,
                "source": self.chosen_source,
            },
            "layers": [layer.to_dict() for layer in self.layers],
            "seconds": self.seconds,
        }


def _prob_dict(p: TokenProb) -> dict[str, Any]:
    return {"token_id": p.token_id, "text": p.text, "prob": p.prob, "logprob": p.logprob}


def layer_name(layer: int, layers: int) -> str:
    if layer == 0:
        return "embeddings"
    return f"block {layer}" + (" (output)" if layer == layers else "")


def _read_out(model: Any) -> tuple[Any, Any]:
    """The final layer norm and the unembedding of a GPT-2-family model."""
    norm = getattr(getattr(model, "transformer", None), "ln_f", None)
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if norm is None or head is None:
        raise UsageError("the logit lens needs a GPT-2-family model (transformer.ln_f, lm_head)")
    return norm, head


@torch.inference_mode()
def logit_lens(
    engine: Engine,
    ids: Sequence[int],
    *,
    position: int | None = None,
    k: int = 5,
) -> LogitLens:
    """The lens at ``position`` of the token ids ``ids`` (None: the last token). The chosen
    token is the text's own next token, or at the end of the text the model's final top-1."""
    if not 1 <= k <= 1000:
        raise UsageError(f"invalid k: must be ≥ 1 and ≤ 1000 (got {k})")
    window = window_at(ids, position, engine.context_length)
    model = engine.model
    norm, head = _read_out(model)
    started = time.perf_counter()
    with engine.lock:
        out = model(
            input_ids=torch.tensor([window.ids]),
            output_hidden_states=True,
            use_cache=False,
            logits_to_keep=1,
        )
        # hidden_states[0] is the embeddings, [i] the stream after block i; the last entry has
        # ln_f applied already (transformers ties it to last_hidden_state), so the last row
        # is taken from the model's own logits rather than normalised twice.
        # Each stream stays (1, width): int8 dynamic Linear heads reject 1-d input.
        streams = [h[0, -1:] for h in out.hidden_states[:-1]]
        rows = [head(norm(s))[0].float() for s in streams] + [out.logits[0, -1].float()]
    logprobs = [torch.log_softmax(row, dim=-1) for row in rows]
    source: ChosenSource = "text" if window.next_id is not None else "model"
    chosen = window.next_id if window.next_id is not None else int(logprobs[-1].argmax())
    return _assemble(engine, window, logprobs, chosen, source, k, time.perf_counter() - started)


def _assemble(
    engine: Engine,
    window: PositionWindow,
    logprobs: list[torch.Tensor],
    chosen: int,
    source: ChosenSource,
    k: int,
    seconds: float,
) -> LogitLens:
    texts = engine.token_texts
    last = len(logprobs) - 1
    layers = []
    for layer, row in enumerate(logprobs):
        value = float(row[chosen])
        layers.append(
            LensLayer(
                layer=layer,
                name=layer_name(layer, last),
                top=texts.top(row, min(k, row.numel())),
                chosen_rank=rank_of(row, chosen),
                chosen_prob=math.exp(value),
                chosen_logprob=value,
            )
        )
    return LogitLens(
        token_ids=window.ids,
        tokens=tuple(texts.text(i) for i in window.ids),
        start=window.start,
        position=window.position,
        chosen_id=chosen,
        chosen_text=texts.text(chosen),
        chosen_source=source,
        layers=tuple(layers),
        seconds=seconds,
    )
