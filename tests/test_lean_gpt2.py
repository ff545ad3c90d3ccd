"""The lean GPT-2 forward (core.lean_gpt2) against Hugging Face's model, the reference: fp32
and the int8 twin, prefill and single steps, crop and re-feed, cache growth, mixing fp32 and
int8 on one cache, unsupported configs and the context limit."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from assistant.core import row_kernels
from assistant.core.lean_gpt2 import LeanCache, LeanRunner, unsupported_reason
from assistant.core.models import load_model, quantize_int8
from assistant.core.runner import HFRunner

LOGPROB_TOLERANCE = 1e-4
PROBABILITY_TOLERANCE = 1e-5
TIE_MARGIN = 1e-5  # HF's top-2 logit margin below which a greedy token may differ

torch.set_num_threads(1)


def tiny_model(seed: int = 0, **overrides: Any) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    settings: dict[str, Any] = dict(
        n_layer=2,
        n_head=2,
        n_embd=32,
        vocab_size=101,
        n_positions=64,
        bos_token_id=0,
        eos_token_id=0,
    )
    settings.update(overrides)
    model = GPT2LMHeadModel(GPT2Config(**settings))
    # Random init is tiny (std 0.02, zero biases): scale up so that logits are far from
    # uniform and attention actually weighs positions differently (a weak test otherwise).
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() == 2 and "wpe" not in name:
                param.mul_(10.0)
            elif param.dim() == 1:  # biases and norms: not their zero / one init
                param.add_(0.2 * torch.randn_like(param))
    return model.eval()


@pytest.fixture(scope="module")
def bundled() -> Any:
    return load_model("bundled", allow_fallback=False, threads=1).model


@pytest.fixture(scope="module", params=["tiny", "bundled"])
def model(request: pytest.FixtureRequest, bundled: Any) -> Any:
    return tiny_model() if request.param == "tiny" else bundled


def seeded_ids(model: Any, n: int, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, model.config.vocab_size, (1, n), generator=generator)


def reference_logprobs(model: Any, ids: torch.Tensor) -> torch.Tensor:
    """HF's full forward (no cache) over ``ids``: log-probabilities at every position."""
    with torch.inference_mode():
        return torch.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)


def logprobs(logits: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(logits, dim=-1)


@pytest.mark.parametrize("kernels", ["fast", "torch"])
def test_prefill_then_single_steps_match_hf_full_forward(model: Any, kernels: str) -> None:
    ids = seeded_ids(model, 40 + 20)
    expected = reference_logprobs(model, ids)
    runner = LeanRunner(model, kernels=kernels)
    cache = runner.new_cache(64)
    got = [logprobs(runner.forward(ids[:, :40], cache))]
    for position in range(40, 60):
        got.append(logprobs(runner.forward(ids[:, position : position + 1], cache)))
    assert cache.length == 60
    errors = [float((g - expected[39 + step]).abs().max()) for step, g in enumerate(got)]
    assert max(errors) < LOGPROB_TOLERANCE, errors


def test_the_one_row_kernels_match_hf(model: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """core.row_kernels (numpy's OpenBLAS, oneDNN) on every matrix, however small: the
    test models' matrices are below the size where the lean runner picks them itself."""
    monkeypatch.setattr(row_kernels, "MIN_BYTES", 0)
    block = model.transformer.h[0].mlp.c_fc
    if row_kernels.conv1d_row(block.weight, block.bias) is None:
        pytest.skip("numpy's BLAS is not OpenBLAS under threadpoolctl here")
    runner = LeanRunner(model)
    assert runner.numpy_rows
    ids = seeded_ids(model, 30, seed=8)
    expected = reference_logprobs(model, ids)
    cache = runner.new_cache(32)
    runner.forward(ids[:, :20], cache)
    for position in range(20, 30):
        got = logprobs(runner.forward(ids[:, position : position + 1], cache))
        assert float((got - expected[position]).abs().max()) < LOGPROB_TOLERANCE, position


def test_greedy_tokens_equal_hf_generate_except_near_ties(model: Any) -> None:
    prompt = seeded_ids(model, 12, seed=2)
    with torch.inference_mode():
        out = model.generate(
            prompt,
            attention_mask=torch.ones_like(prompt),
            do_sample=False,
            max_new_tokens=20,
            pad_token_id=0,
            output_scores=True,
            return_dict_in_generate=True,
        )
    hf_tokens = out.sequences[0, prompt.shape[1] :].tolist()
    runner = LeanRunner(model)
    cache = runner.new_cache(8)
    logits = runner.forward(prompt, cache)
    for step, hf_token in enumerate(hf_tokens):
        token = int(logits.argmax())
        if token != hf_token:
            top2 = out.scores[step][0].float().topk(2).values
            assert float(top2[0] - top2[1]) < TIE_MARGIN, (step, token, hf_token)
            return  # a near tie went the other way: the sequences diverge from here
        logits = runner.forward(torch.tensor([[token]]), cache)


def test_crop_then_refeed_equals_a_fresh_cache(model: Any) -> None:
    ids = seeded_ids(model, 30, seed=3)
    runner = LeanRunner(model)
    fresh = runner.forward(ids, runner.new_cache(32))
    cache = runner.new_cache(32)
    runner.forward(ids[:, :25], cache)
    for position in range(25, 30):
        runner.forward(ids[:, position : position + 1], cache)
    other = torch.randint(0, model.config.vocab_size, (1, 3))
    runner.forward(other, cache)  # positions 30..32 that the crop must forget
    cache.crop(17)
    assert cache.length == 17
    refed = runner.forward(ids[:, 17:30], cache)  # several new positions after cached ones
    assert cache.length == 30
    assert_same_distribution(refed, fresh)
    cache.crop(29)  # and a single position re-fed after a crop
    assert_same_distribution(runner.forward(ids[:, 29:30], cache), fresh)


def assert_same_distribution(got: torch.Tensor, want: torch.Tensor) -> None:
    """Issue 13's bar for a reused prefix: probabilities within 1e-5 of a fresh run (SDPA
    sums a prefill's and a single step's attention in different orders, so not bit-equal)."""
    assert float((logprobs(got).exp() - logprobs(want).exp()).abs().max()) < PROBABILITY_TOLERANCE
    assert float((logprobs(got) - logprobs(want)).abs().max()) < LOGPROB_TOLERANCE


def test_the_cache_grows_past_its_capacity(model: Any) -> None:
    ids = seeded_ids(model, 24, seed=4)
    expected = reference_logprobs(model, ids)
    runner = LeanRunner(model)
    cache = runner.new_cache(2)
    runner.forward(ids[:, :5], cache)  # more than the capacity at once
    assert cache.capacity >= 5
    for position in range(5, 24):  # and one at a time past each doubling
        got = logprobs(runner.forward(ids[:, position : position + 1], cache))
        assert float((got - expected[position]).abs().max()) < LOGPROB_TOLERANCE, position
    assert cache.length == 24 <= cache.capacity


def int8_twin(model: Any) -> Any:
    return quantize_int8(copy.deepcopy(model)).eval()


def test_int8_twin_through_lean_matches_it_through_hf(model: Any) -> None:
    """Dynamic int8 quantizes each call's activations with that call's range, so both runners
    are fed alike: a prefill, then single steps."""
    twin = int8_twin(model)
    lean, hf = LeanRunner(twin), HFRunner(twin)
    lean_cache, hf_cache = lean.new_cache(32), hf.new_cache(32)
    ids = seeded_ids(model, 30, seed=5)
    errors = []
    with torch.inference_mode():
        for start, end in [(0, 20)] + [(p, p + 1) for p in range(20, 30)]:
            got = lean.forward(ids[:, start:end], lean_cache)
            want = hf.forward(ids[:, start:end], hf_cache)
            errors.append(float((logprobs(got) - logprobs(want)).abs().max()))
    assert max(errors) < LOGPROB_TOLERANCE, errors
    # And the twin is really quantized: its logprobs differ from the fp32 model's.
    fp32 = reference_logprobs(model, ids)[-1]
    assert float((logprobs(got) - fp32).abs().max()) > 10 * LOGPROB_TOLERANCE


def test_one_cache_serves_the_int8_prefill_and_the_fp32_decode(model: Any) -> None:
    """The fast mode prefills with int8 and decodes with fp32 on the same cache (and back)."""
    fp32, int8 = LeanRunner(model), LeanRunner(int8_twin(model))
    ids = seeded_ids(model, 20, seed=6)
    cache = int8.new_cache(16)
    int8.forward(ids[:, :16], cache)
    logits = fp32.forward(ids[:, 16:17], cache)
    assert logits.shape == (model.config.vocab_size,) and logits.dtype == torch.float32
    assert bool(torch.isfinite(logits).all())
    logits = int8.forward(ids[:, 17:18], cache)
    assert logits.shape == (model.config.vocab_size,)
    fp32_cache = fp32.new_cache(4)
    fp32.forward(ids[:, :10], fp32_cache)
    assert int8.forward(ids[:, 10:11], fp32_cache).shape == (model.config.vocab_size,)
    assert (cache.length, fp32_cache.length) == (18, 11)
    # An fp32 decode after an int8 prefill stays close to the all-fp32 one (the cache holds
    # int8-computed keys and values, so not equal: this is the fast mode's approximation).
    exact = reference_logprobs(model, ids[:, :19])[-1]
    mixed = logprobs(fp32.forward(ids[:, 18:19], cache))
    assert float((mixed.exp() - exact.exp()).abs().max()) < 0.5


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"scale_attn_by_inverse_layer_idx": True}, "inverse layer index"),
        ({"reorder_and_upcast_attn": True}, "reorder"),
        ({"activation_function": "relu"}, "activation"),
        ({"scale_attn_weights": False}, "scale_attn_weights"),
        ({"add_cross_attention": True}, "cross-attention"),
    ],
)
def test_unsupported_configs_give_a_reason(overrides: dict[str, Any], needle: str) -> None:
    model = tiny_model(**overrides)
    reason = unsupported_reason(model)
    assert reason is not None and needle in reason
    with pytest.raises(ValueError, match="does not support"):
        LeanRunner(model)


def test_supported_models_and_other_refusals() -> None:
    assert unsupported_reason(tiny_model()) is None
    assert unsupported_reason(tiny_model(activation_function="gelu_pytorch_tanh")) is None
    assert unsupported_reason(int8_twin(tiny_model())) is None
    assert "not a GPT2LMHeadModel" in (unsupported_reason(torch.nn.Linear(2, 2)) or "")
    assert "training" in (unsupported_reason(tiny_model().train()) or "")


def test_gelu_pytorch_tanh_matches_hf() -> None:
    model = tiny_model(activation_function="gelu_pytorch_tanh")
    ids = seeded_ids(model, 16, seed=7)
    got = logprobs(LeanRunner(model).forward(ids, LeanCache(2, 2, 16, 16)))
    assert float((got - reference_logprobs(model, ids)[-1]).abs().max()) < LOGPROB_TOLERANCE


def test_past_the_context_and_bad_input_are_value_errors() -> None:
    model = tiny_model()
    runner = LeanRunner(model)
    cache = runner.new_cache(64)
    runner.forward(seeded_ids(model, 60), cache)
    with pytest.raises(ValueError, match="exceed the model's context of 64"):
        runner.forward(seeded_ids(model, 5), cache)
    assert cache.length == 60  # nothing was written
    runner.forward(seeded_ids(model, 4), cache)  # exactly up to the context still works
    assert cache.length == 64
    with pytest.raises(ValueError, match="shape"):
        runner.forward(torch.zeros((2, 3), dtype=torch.long), runner.new_cache(4))
    with pytest.raises(ValueError, match="shape"):
        runner.forward(torch.zeros((1, 0), dtype=torch.long), runner.new_cache(4))
    with pytest.raises(ValueError, match="LeanCache"):
        runner.forward(seeded_ids(model, 2), LeanCache(3, 2, 16, 4))
    with pytest.raises(ValueError, match="negative"):
        cache.crop(-1)
