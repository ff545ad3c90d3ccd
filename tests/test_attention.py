"""One token's attention, every layer and head: exact rows, computed with eager attention on
demand only, and generation afterwards unchanged."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM

from assistant.cli import main
from assistant.core.attention import attention_at
from assistant.core.decoding import DecodingSettings
from assistant.core.engine import Engine
from assistant.core.heat import heat, heat_rgb
from assistant.core.models import quantize_int8
from assistant.errors import UsageError

TEXT = "Beam search keeps the best partial sequences at every step of decoding."


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


def test_rows_sum_to_one_for_every_layer_and_head(engine: Engine) -> None:
    ids = engine.encode(TEXT)
    position = len(ids) // 2
    attention = attention_at(engine, ids, position=position)
    config = engine.model.config
    assert (attention.layers, attention.heads) == (config.n_layer, config.n_head)
    for layer in range(1, attention.layers + 1):
        for head in range(1, attention.heads + 1):
            row = attention.row(layer, head)
            assert len(row) == position + 1 and min(row) >= 0.0
            assert abs(sum(row) - 1.0) < 1e-5
        mean = attention.row(layer)
        assert abs(sum(mean) - 1.0) < 1e-5
        by_hand = [
            sum(attention.row(layer, h)[j] for h in range(1, attention.heads + 1)) / attention.heads
            for j in range(position + 1)
        ]
        assert max(abs(a - b) for a, b in zip(mean, by_hand, strict=True)) < 1e-9


def test_weights_equal_an_eager_model_loaded_on_its_own(engine: Engine) -> None:
    eager = AutoModelForCausalLM.from_pretrained(
        engine.loaded.source, attn_implementation="eager", local_files_only=True
    ).eval()
    if engine.loaded.quantized:
        eager = quantize_int8(eager)
    ids = engine.encode(TEXT)
    with torch.inference_mode():
        out = eager(input_ids=torch.tensor([ids]), output_attentions=True, use_cache=False)
    attention = attention_at(engine, ids)
    for layer, expected in enumerate(out.attentions, start=1):
        for head in range(attention.heads):
            want = expected[0, head, -1].tolist()
            got = attention.row(layer, head + 1)
            assert max(abs(a - b) for a, b in zip(got, want, strict=True)) < 1e-5


def test_generation_afterwards_is_unchanged_and_keeps_its_implementation(
    tiny_engine: Engine,
) -> None:
    settings = DecodingSettings(max_new_tokens=8, top_logprobs=3)
    before = tiny_engine.generate(TEXT, settings)
    implementation = tiny_engine.model.config._attn_implementation
    assert implementation != "eager"  # the engine decodes with the fast kernel
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning may reach the user's terminal
        attention_at(tiny_engine, tiny_engine.encode(TEXT))
    assert tiny_engine.model.config._attn_implementation == implementation
    after = tiny_engine.generate(TEXT, settings)
    assert [s.token_id for s in after.steps] == [s.token_id for s in before.steps]
    assert [s.logprob for s in after.steps] == [s.logprob for s in before.steps]


def test_the_implementation_is_restored_when_the_forward_fails(tiny_engine: Engine) -> None:
    implementation = tiny_engine.model.config._attn_implementation
    with pytest.raises(IndexError):  # a token id outside the vocabulary
        attention_at(tiny_engine, [10**6])
    assert tiny_engine.model.config._attn_implementation == implementation
    assert not tiny_engine.lock.locked()


def test_position_and_truncation(tiny_engine: Engine) -> None:
    ids = tiny_engine.encode(TEXT)
    at_five = attention_at(tiny_engine, ids, position=5)
    alone = attention_at(tiny_engine, ids[:6])
    assert at_five.position == 5 and at_five.token_ids == tuple(ids[:6])
    assert max(abs(a - b) for a, b in zip(at_five.row(1, 1), alone.row(1, 1), strict=True)) < 1e-6
    long_ids = tiny_engine.encode(TEXT * 20)
    context = tiny_engine.context_length
    cut = attention_at(tiny_engine, long_ids)
    assert len(cut.row(1)) == context and cut.truncated_tokens == len(long_ids) - context


def test_layer_and_head_out_of_range(tiny_engine: Engine) -> None:
    attention = attention_at(tiny_engine, tiny_engine.encode(TEXT))
    with pytest.raises(UsageError, match=r"invalid layer: the model has 2 layers, give 1\.\.2"):
        attention.row(3)
    with pytest.raises(UsageError, match="invalid head"):
        attention.row(1, 0)


def test_heat_shades_relative_to_the_strongest() -> None:
    assert heat([0.5, 0.25, 0.25]) == [1.0, 0.5, 0.5]
    assert heat([0.0, 0.0]) == [0.0, 0.0]
    assert heat_rgb(0.0) != heat_rgb(1.0) and heat_rgb(2.0) == heat_rgb(1.0)


def test_cli_attention_json_and_strip(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path
) -> None:
    model = ["--model", str(tiny_model_dir)]
    code = main(
        ["attention", TEXT, "--layer", "2", "--head", "1", "--position", "4", "--json", *model]
    )
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["layer"] == 2 and data["head"] == 1 and data["position"] == 4
    assert len(data["weights"]) == 5 == len(data["tokens"]) == len(data["mean"])
    assert abs(sum(data["weights"]) - 1.0) < 1e-5
    assert len(data["per_head"]) == data["heads"]
    code = main(["attention", TEXT, "--layer", "1", *model])
    out, _ = capsys.readouterr()
    assert code == 0 and "mean of 2 heads" in out and "strongest:" in out


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--layer", "3"], "error: invalid --layer: the model has 2 layers, give 1..2 (got 3)"),
        (["--layer", "1", "--head", "5"], "error: invalid --head: each layer has 2 heads"),
    ],
)
def test_cli_attention_range_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path, flags: list[str], message: str
) -> None:
    code = main(["attention", TEXT, *flags, "--model", str(tiny_model_dir)])
    _, err = capsys.readouterr()
    assert code != 0 and err.startswith(message) and err.count("\n") == 1
