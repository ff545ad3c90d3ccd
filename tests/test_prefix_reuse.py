"""A kept KV prefix (core/prefix_store.py) gives the same probabilities as a fresh decode,
feeds only what differs, and never mixes precisions, conversations or concurrent decodes."""

from __future__ import annotations

import threading

import pytest

from assistant.core.decoding import DecodingSettings
from assistant.core.engine import Engine
from assistant.core.prefix_store import PrefixStore, common_length
from assistant.core.types import Generation

PROMPT = (
    "Question: what does nucleus sampling keep?\n"
    "Passage: Nucleus sampling keeps the smallest set of tokens whose probability mass "
    "reaches p, then samples among them. Top-k keeps a fixed number of tokens.\nAnswer:"
)
SETTINGS = DecodingSettings(max_new_tokens=12, top_logprobs=5)


@pytest.fixture(scope="module", params=["hf", "auto"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return Engine.load(None, allow_fallback=False, threads=1, runner=request.param)


def assert_same(a: Generation, b: Generation) -> None:
    assert [s.token_id for s in a.steps] == [s.token_id for s in b.steps]
    for x, y in zip(a.steps, b.steps, strict=True):
        assert abs(x.logprob - y.logprob) < 1e-5
        assert [t.token_id for t in x.top] == [t.token_id for t in y.top]
        for p, q in zip(x.top, y.top, strict=True):
            assert abs(p.logprob - q.logprob) < 1e-5


def test_regenerate_reuses_the_whole_prompt_and_matches_a_fresh_run(engine: Engine) -> None:
    engine.forget_prefix()
    fresh = engine.generate(PROMPT, SETTINGS)
    first = engine.stream(PROMPT, SETTINGS, cache_key="c1")
    assert first.reused_prompt_tokens == 0
    list(first)
    again = engine.stream(PROMPT, SETTINGS, cache_key="c1")
    list(again)
    assert again.reused_prompt_tokens == len(again.prompt_ids) - 1
    assert_same(fresh, first.result())
    assert_same(fresh, again.result())


def test_a_longer_prompt_feeds_only_its_new_part(engine: Engine) -> None:
    engine.forget_prefix()
    engine.generate(PROMPT, SETTINGS, cache_key="c2")
    longer = PROMPT + " It keeps the nucleus."
    fresh = engine.generate(longer, SETTINGS)
    reused = engine.stream(longer, SETTINGS, cache_key="c2")
    list(reused)
    shared = common_length(engine.encode(PROMPT), engine.encode(longer))
    assert 0 < reused.reused_prompt_tokens <= shared
    assert reused.reused_prompt_tokens >= shared - 1
    assert_same(fresh, reused.result())


def test_a_fork_continuation_matches_a_fresh_one(engine: Engine) -> None:
    """What a fork feeds: the prompt, the answer's first tokens and another token."""
    engine.forget_prefix()
    answer = engine.generate(PROMPT, SETTINGS, cache_key="c3")
    alternative = answer.steps[2].top[1]
    forked = PROMPT + "".join(s.text for s in answer.steps[:2]) + alternative.text
    fresh = engine.generate(forked, SETTINGS)
    reused = engine.stream(forked, SETTINGS, cache_key="c3")
    list(reused)
    assert reused.reused_prompt_tokens > len(engine.encode(PROMPT)) - 2
    assert_same(fresh, reused.result())


def test_each_compare_preset_reuses_the_prompt(engine: Engine) -> None:
    from assistant.core.decoding import PRESETS

    engine.forget_prefix()
    engine.generate(PROMPT, SETTINGS, cache_key="c4")
    for name in ("greedy", "balanced", "creative", "beam"):
        settings = PRESETS[name].replace(max_new_tokens=8, seed=0)
        fresh = engine.generate(PROMPT, settings)
        stream = engine.stream(PROMPT, settings, cache_key="c4")
        list(stream)
        assert stream.reused_prompt_tokens == len(stream.prompt_ids) - 1, name
        kept = stream.result()
        assert_same(fresh, kept)
        if name == "beam":  # HF's beam search starts from the kept prompt and gives it back
            for x, y in zip(fresh.steps, kept.steps, strict=True):
                assert abs(x.processed_logprob - y.processed_logprob) < 1e-5
            assert kept.sequence_score == pytest.approx(fresh.sequence_score, abs=1e-5)
            again = engine.stream(PROMPT, SETTINGS, cache_key="c4")
            list(again)
            assert again.reused_prompt_tokens == len(again.prompt_ids) - 1


def test_another_precision_never_reuses_an_exact_prefix(engine: Engine) -> None:
    engine.forget_prefix()
    engine.generate(PROMPT, SETTINGS, cache_key="c5")
    fast = engine.stream(PROMPT, SETTINGS.replace(precision="fast-prefill"), cache_key="c5")
    list(fast)
    assert fast.reused_prompt_tokens == 0
    assert fast.precision == "fast-prefill"
    exact = engine.stream(PROMPT, SETTINGS, cache_key="c5")
    list(exact)
    assert exact.reused_prompt_tokens == 0  # the int8-computed prefix was not taken


def test_forget_and_other_keys(engine: Engine) -> None:
    engine.forget_prefix()
    engine.generate(PROMPT, SETTINGS, cache_key="a")
    other = engine.stream(PROMPT, SETTINGS, cache_key="b")
    list(other)
    assert other.reused_prompt_tokens == 0
    engine.forget_prefix("a")
    dropped = engine.stream(PROMPT, SETTINGS, cache_key="a")
    list(dropped)
    assert dropped.reused_prompt_tokens == 0
    assert engine.prefixes.lengths().keys() == {"a", "b"}


def test_two_decodes_with_one_key_at_once_do_not_share_a_cache(engine: Engine) -> None:
    engine.forget_prefix()
    fresh = engine.generate(PROMPT, SETTINGS)
    engine.generate(PROMPT, SETTINGS, cache_key="k")
    first = engine.stream(PROMPT, SETTINGS, cache_key="k")
    second = engine.stream(PROMPT, SETTINGS, cache_key="k")
    one, two = iter(first), iter(second)
    for _ in range(SETTINGS.max_new_tokens):  # interleaved, step by step
        next(one, None)
        next(two, None)
    list(one), list(two)
    assert {first.reused_prompt_tokens, second.reused_prompt_tokens} == {
        0,
        len(first.prompt_ids) - 1,
    }
    assert_same(fresh, first.result())
    assert_same(fresh, second.result())


def test_reuse_from_another_thread(engine: Engine) -> None:
    engine.forget_prefix()
    fresh = engine.generate(PROMPT, SETTINGS)
    engine.generate(PROMPT, SETTINGS, cache_key="t")
    results: list[Generation] = []
    worker = threading.Thread(
        target=lambda: results.append(engine.generate(PROMPT, SETTINGS, cache_key="t"))
    )
    worker.start()
    worker.join(60)
    assert not worker.is_alive() and len(results) == 1
    assert_same(fresh, results[0])


def test_store_is_bounded_and_checks_what_it_is_given() -> None:
    from assistant.core.runner import HFCache

    store = PrefixStore(max_keys=2)
    for key in ("a", "b", "c"):
        cache = HFCache(None)
        cache._length = 3
        store.give_back(key, [1, 2, 3], cache, "exact")
    assert set(store.lengths()) == {"b", "c"}  # the oldest went
    wrong = HFCache(None)
    wrong._length = 2
    store.give_back("d", [1, 2, 3], wrong, "exact")  # claims 3 ids, holds 2: refused
    assert "d" not in store.lengths()
    assert store.take("b", [1, 2, 3], "fast")[0] is None  # another precision: not reused
    assert store.take("b", [1, 2, 3], "exact")[0] is None  # and it was dropped
    cache, reused = store.take("c", [1, 2, 9, 9], "exact")
    assert cache is not None and reused == 2
    assert common_length([1, 2, 3], [1, 2, 3]) == 3 and common_length([], [1]) == 0
