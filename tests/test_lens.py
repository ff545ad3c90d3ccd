"""The logit lens: each layer's read-out through ln_f and the unembedding, exact at the end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from assistant.cli import main
from assistant.core.engine import Engine
from assistant.core.lens import logit_lens
from assistant.errors import UsageError

TEXT = "The transformer uses attention with queries, keys and values; GPT-2 is a decoder."


@pytest.fixture(scope="module")
def tiny_engine(tiny_model_dir: Path) -> Engine:
    return Engine.load(str(tiny_model_dir), allow_fallback=False, threads=1)


@pytest.fixture(scope="module")
def tiny_int8_engine(tiny_model_dir: Path) -> Engine:
    """Dynamic int8 weights (Linear layers, the untied head): still GPT-2, still exact."""
    return Engine.load(str(tiny_model_dir), allow_fallback=False, threads=1, quantize="int8")


@pytest.fixture(scope="module")
def bundled_engine() -> Engine:
    return Engine.load(None, allow_fallback=False, threads=1)


@pytest.fixture(params=["tiny", "tiny_int8", "bundled"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue(f"{request.param}_engine")


def model_probs(engine: Engine, ids: list[int]) -> torch.Tensor:
    """The model's own next-token distribution after ``ids`` (an independent forward, the
    last position only as when decoding: int8 weights quantize the head's input per call)."""
    with torch.inference_mode():
        tokens = torch.tensor([ids])
        logits = engine.model(input_ids=tokens, use_cache=False, logits_to_keep=1).logits[0, -1]
    return torch.softmax(logits.float(), dim=-1)


def block_readouts(engine: Engine, ids: list[int]) -> list[torch.Tensor]:
    """softmax(lm_head(ln_f(stream))) after the embeddings and after each block, from hooks
    on the blocks (not through hidden_states)."""
    model = engine.model
    streams: list[torch.Tensor] = []
    hooks = [
        block.register_forward_hook(lambda _m, _i, out: streams.append(out[0, -1:].clone()))
        for block in model.transformer.h
    ]
    try:
        with torch.inference_mode():
            tokens = torch.tensor([ids])
            embedded = model.transformer.wte(tokens) + model.transformer.wpe(torch.arange(len(ids)))
            model(input_ids=tokens, use_cache=False)
            readouts = [embedded[0, -1:], *streams]
            head, norm = model.lm_head, model.transformer.ln_f
            return [torch.softmax(head(norm(s))[0].float(), dim=-1) for s in readouts]
    finally:
        for hook in hooks:
            hook.remove()


def test_last_layer_is_the_models_own_distribution(engine: Engine) -> None:
    ids = engine.encode(TEXT)
    vocab = int(engine.model.config.vocab_size)
    lens = logit_lens(engine, ids, k=min(vocab, 1000))
    expected = model_probs(engine, ids)
    final = lens.layers[-1]
    assert final.layer == engine.model.config.n_layer == len(lens.layers) - 1
    got = torch.zeros_like(expected)
    for p in final.top:
        got[p.token_id] = p.prob
    listed = torch.tensor([p.token_id for p in final.top])
    assert (got[listed] - expected[listed]).abs().max() < 1e-5
    assert abs(final.chosen_prob - float(expected[lens.chosen_id])) < 1e-5
    if len(final.top) == vocab:  # the whole distribution: it sums to 1 like the model's
        assert abs(sum(p.prob for p in final.top) - 1.0) < 1e-4


def test_every_layer_reads_its_residual_stream_through_ln_f(engine: Engine) -> None:
    ids = engine.encode(TEXT)[:12]
    lens = logit_lens(engine, ids, k=20)
    expected = block_readouts(engine, ids)
    assert len(lens.layers) == len(expected)
    for layer, want in zip(lens.layers, expected, strict=True):
        for p in layer.top:
            assert abs(p.prob - float(want[p.token_id])) < 1e-5, layer.name
        assert [p.token_id for p in layer.top[:1]] == [int(want.argmax())]
        rank = int((want > want[lens.chosen_id]).sum()) + 1
        assert layer.chosen_rank == rank
    assert next(layer.name for layer in lens.layers) == "embeddings"


def test_position_predicts_the_texts_next_token(tiny_engine: Engine) -> None:
    ids = tiny_engine.encode(TEXT)
    position = 6
    lens = logit_lens(tiny_engine, ids, position=position, k=5)
    assert lens.position == position and lens.chosen_source == "text"
    assert lens.chosen_id == ids[position + 1]
    assert lens.token_ids == tuple(ids[: position + 1])
    expected = model_probs(tiny_engine, ids[: position + 1])
    assert abs(lens.layers[-1].chosen_prob - float(expected[ids[position + 1]])) < 1e-5
    top = [p.token_id for p in lens.layers[-1].top]
    if lens.chosen_id in top:
        assert lens.layers[-1].chosen_rank == top.index(lens.chosen_id) + 1
    assert logit_lens(tiny_engine, ids, position=-len(ids) + position).position == position


def test_at_the_end_the_chosen_token_is_the_models_top_1(tiny_engine: Engine) -> None:
    lens = logit_lens(tiny_engine, tiny_engine.encode(TEXT), k=3)
    assert lens.chosen_source == "model"
    assert lens.layers[-1].chosen_rank == 1
    assert lens.chosen_id == lens.layers[-1].top[0].token_id


def test_a_text_longer_than_the_context_keeps_the_tokens_before_the_position(
    tiny_engine: Engine,
) -> None:
    ids = tiny_engine.encode(TEXT * 12)
    context = tiny_engine.context_length
    assert len(ids) > context
    lens = logit_lens(tiny_engine, ids, k=3)
    assert len(lens.token_ids) == context and lens.truncated_tokens == len(ids) - context
    expected = model_probs(tiny_engine, ids[-context:])
    assert abs(lens.layers[-1].top[0].prob - float(expected.max())) < 1e-5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"position": 999}, "invalid position"), ({"k": 0}, "invalid k")],
)
def test_bad_requests_get_a_clear_error(
    tiny_engine: Engine, kwargs: dict[str, int], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        logit_lens(tiny_engine, tiny_engine.encode(TEXT), **kwargs)
    with pytest.raises(UsageError, match="empty text"):
        logit_lens(tiny_engine, [])


def test_cli_lens_json(capsys: pytest.CaptureFixture[str], tiny_model_dir: Path) -> None:
    code = main(["lens", TEXT, "--k", "4", "--position", "3", "--model", str(tiny_model_dir)])
    human, _ = capsys.readouterr()
    assert code == 0 and "block 2 (output)" in human and "embeddings" in human
    code = main(
        ["lens", TEXT, "--k", "4", "--position", "3", "--json", "--model", str(tiny_model_dir)]
    )
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["position"] == 3 and data["chosen"]["source"] == "text"
    assert [layer["layer"] for layer in data["layers"]] == [0, 1, 2]
    assert all(len(layer["top"]) == 4 for layer in data["layers"])


def test_cli_lens_bad_position_is_one_line(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path
) -> None:
    code = main(["lens", "a few words", "--position", "50", "--model", str(tiny_model_dir)])
    _, err = capsys.readouterr()
    assert code != 0
    assert err.startswith("error: invalid position") and err.count("\n") == 1
