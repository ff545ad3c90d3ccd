"""Sampling, stopping, context guard and error behaviour of the engine."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch
from transformers import TopPLogitsWarper

from assistant.core import DecodingSettings, Engine
from assistant.core.models import load_model
from assistant.core.processors import PrefilteredTopPLogitsWarper
from assistant.core.textstream import IncrementalDecoder
from assistant.errors import ContextLengthError, ModelLoadError, UsageError


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> Engine:
    torch.set_num_threads(1)
    return Engine.load(str(tiny_model_dir), allow_fallback=False)


def tokens(engine: Engine, prompt: str, settings: DecodingSettings) -> list[int]:
    return [s.token_id for s in engine.generate(prompt, settings).steps]


def test_seeded_sampling_is_reproducible(engine: Engine) -> None:
    settings = DecodingSettings(strategy="sample", seed=123, max_new_tokens=30)
    first = tokens(engine, "Beam search", settings)
    assert first == tokens(engine, "Beam search", settings)
    assert first != tokens(engine, "Beam search", settings.replace(seed=124))


def test_top_k_restricts_support_to_k_most_likely(engine: Engine) -> None:
    settings = DecodingSettings(
        strategy="sample", seed=1, top_k=3, top_logprobs=10, max_new_tokens=25
    )
    for step in engine.generate("Warsaw", settings).steps:
        assert step.rank <= 3
        assert len(step.top_processed) == 3  # -inf alternatives are not reported
        assert {a.token_id for a in step.top_processed} == {a.token_id for a in step.top[:3]}
        assert sum(a.prob for a in step.top_processed) == pytest.approx(1.0, abs=1e-5)


def test_top_p_keeps_the_smallest_set_reaching_p(engine: Engine) -> None:
    settings = DecodingSettings(
        strategy="sample", seed=2, top_p=0.05, top_logprobs=20, max_new_tokens=20
    )
    for step in engine.generate("Greedy decoding", settings).steps:
        kept = step.top_processed
        raw_by_id = {a.token_id: a.prob for a in step.top}
        kept_raw = sorted((raw_by_id[a.token_id] for a in kept), reverse=True)
        assert len(kept) < 20  # the nucleus is small here: the set is really cut
        assert sum(kept_raw) >= 0.05 - 1e-6
        assert sum(kept_raw[:-1]) < 0.05  # without the least likely kept token it falls short


@pytest.mark.parametrize("top_p", [0.1, 0.5, 0.9, 0.99])
def test_prefiltered_top_p_equals_hf_top_p(top_p: float) -> None:
    generator = torch.Generator().manual_seed(0)
    ours = PrefilteredTopPLogitsWarper(top_p, prefilter=64)
    theirs = TopPLogitsWarper(top_p)
    ids = torch.zeros((1, 1), dtype=torch.long)
    fallbacks = 0
    for trial in range(200):
        scale = 0.5 + 8.0 * (trial % 10) / 10  # flat to peaked distributions
        scores = torch.randn((1, 5000), generator=generator) * scale
        expected = torch.isfinite(theirs(ids, scores.clone()))
        got = torch.isfinite(ours(ids, scores.clone()))
        assert torch.equal(got, expected), f"trial {trial}"
        fallbacks += int(expected.sum() > 64)
    assert fallbacks < 200  # the fast path was exercised, not only the fallback


def test_stop_string_cuts_text_and_reports_stop(engine: Engine) -> None:
    prompt = "Warsaw is the capital city of"
    full = engine.generate(prompt, DecodingSettings(max_new_tokens=30)).text
    assert len(full) > 6
    stop = full[3:6]
    generation = engine.generate(prompt, DecodingSettings(max_new_tokens=30, stop=(stop,)))
    assert generation.finish_reason == "stop"
    assert generation.text == full[: full.index(stop)]
    assert stop not in generation.text


def test_stop_event_cancels(engine: Engine) -> None:
    event = threading.Event()
    stream = engine.stream("Warsaw", DecodingSettings(max_new_tokens=50), stop_event=event)
    seen = 0
    for _ in stream:
        seen += 1
        if seen == 3:
            event.set()
    assert seen == 3
    assert stream.result().finish_reason == "cancelled"


def test_finish_reason_length(engine: Engine) -> None:
    generation = engine.generate("Warsaw", DecodingSettings(max_new_tokens=5))
    assert generation.finish_reason in {"length", "eos"}
    assert len(generation.steps) <= 5


def test_long_prompt_is_left_truncated_and_reported(engine: Engine) -> None:
    prompt = "one two three four five six seven " * 40
    settings = DecodingSettings(max_new_tokens=20)
    stream = engine.stream(prompt, settings)
    generation = engine.generate(prompt, settings)
    assert stream.truncated_prompt_tokens > 0
    assert generation.prompt_tokens + 20 <= engine.context_length
    assert (
        generation.truncated_prompt_tokens == len(engine.encode(prompt)) - generation.prompt_tokens
    )


def test_long_prompt_without_truncation_is_a_clear_error(tiny_model_dir: Path) -> None:
    strict = Engine.load(str(tiny_model_dir), allow_fallback=False, truncate_prompt=False)
    with pytest.raises(ContextLengthError, match="exceeds the model's context of 128 tokens"):
        strict.generate("word " * 200, DecodingSettings(max_new_tokens=10))


def test_bad_input_is_a_clear_error(engine: Engine) -> None:
    with pytest.raises(UsageError, match="empty prompt"):
        engine.generate("   ")
    with pytest.raises(UsageError, match="max_new_tokens"):
        engine.generate("hello", DecodingSettings(max_new_tokens=128))
    with pytest.raises(UsageError, match="'top_p': must be > 0 and ≤ 1"):
        DecodingSettings(top_p=0)
    with pytest.raises(UsageError, match="unknown decoding setting"):
        DecodingSettings.from_mapping({"temprature": 0.5})


def test_unknown_model_fails_with_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("assistant.core.models.BUNDLED_MODEL_DIR", tmp_path / "none")
    with pytest.raises(ModelLoadError) as info:
        load_model("no-such-org/no-such-model")
    assert "\n" not in str(info.value) and "no-such-org/no-such-model" in str(info.value)
    with pytest.raises(ModelLoadError, match="not a directory"):
        load_model(str(tmp_path / "missing-dir"))


def test_fallback_to_bundled_model_says_so(
    monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path
) -> None:
    monkeypatch.setattr("assistant.core.models.BUNDLED_MODEL_DIR", tiny_model_dir)
    loaded = load_model("gpt2")
    assert loaded.is_fallback and loaded.source == str(tiny_model_dir)
    assert (
        loaded.notice
        and "bundled" in loaded.notice
        and "assistant models --download gpt2" in loaded.notice
    )
    with pytest.raises(ModelLoadError):
        load_model("gpt2", allow_fallback=False)


def test_incremental_decoding_never_shows_replacement_chars(engine: Engine) -> None:
    text = "Zażółć gęślą jaźń — 日本語のテキスト、中文文本 и русский"
    ids = engine.encode(text)
    decoder = IncrementalDecoder(engine.decode)
    pieces = [decoder.push(i) for i in ids]
    assert any(p == "" for p in pieces)  # some characters really were split across tokens
    assert all("\ufffd" not in p for p in pieces)
    assert "".join(pieces) == text


def test_int8_quantized_engine_is_close_to_fp32(tiny_model_dir: Path, engine: Engine) -> None:
    quantized = Engine.load(str(tiny_model_dir), allow_fallback=False, quantize="int8")
    assert quantized.loaded.quantized
    prompt = "Warsaw is the capital city of"
    p = torch.tensor([t.prob for t in engine.next_token_distribution(prompt, k=50)])
    q_table = {t.token_id: t.prob for t in quantized.next_token_distribution(prompt, k=400)}
    ids = [t.token_id for t in engine.next_token_distribution(prompt, k=50)]
    q = torch.tensor([q_table[i] for i in ids])
    assert torch.allclose(p, q, atol=0.01)
    assert quantized.generate(prompt, DecodingSettings(max_new_tokens=5)).steps
