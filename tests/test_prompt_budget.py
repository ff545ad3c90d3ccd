"""Prompt budgeting: priorities, token-boundary cuts, reports, and the hard context limit."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from assistant.chat.prompt import (
    CUT_MARKER,
    LEFT_CUT_MARKER,
    CountingCutter,
    TokenizerCutter,
    build_prompt,
)
from assistant.chat.template import ContextPassage, render_prompt
from assistant.errors import ContextLengthError


class ScoredPassage:
    def __init__(self, source: str, text: str, score: float) -> None:
        self.source, self.text, self.score = source, text, score


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="module")
def count(tokenizer: Any) -> Any:
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False))


SENTENCE = "Beam search keeps the best partial sequences at every step of decoding. "


def passage(i: int, score: float, words: int = 3) -> ScoredPassage:
    return ScoredPassage(f"notes/p{i}.md:1-9", f"passage {i}. " + SENTENCE * words, score)


def build(count: Any, tokenizer: Any, context: int, new: int, **parts: Any) -> Any:
    parts.setdefault("passages", [])
    parts.setdefault("tool_results", [])
    parts.setdefault("history", [])
    return build_prompt(
        parts.pop("question", "What does beam search keep?"),
        count_tokens=count,
        context_length=context,
        max_new_tokens=new,
        cutter=TokenizerCutter(tokenizer),
        **parts,
    )


def test_everything_fits_renders_the_template_exactly(count: Any, tokenizer: Any) -> None:
    low, high = passage(1, 0.2, 1), passage(2, 0.9, 1)
    history = [("old question?", "old answer."), ("newer question?", "newer answer.")]
    prompt, budget = build(
        count, tokenizer, 10_000, 64, passages=[low, high], tool_results=["= 42"], history=history
    )
    expected = render_prompt(
        "What does beam search keep?",
        [ContextPassage(high.source, high.text), ContextPassage(low.source, low.text)],
        ["= 42"],
        history,
    )
    assert prompt == expected == budget.prompt
    assert budget.prompt_tokens == count(prompt)
    assert not budget.dropped
    assert [p.kind for p in budget.parts] == [
        "question",
        "tools",
        "passage",
        "passage",
        "history",
        "history",
        "template",
    ]
    assert budget.parts[2].label == high.source  # by score, not input order
    assert budget.parts[4].label == "newer question?"  # newest history first
    assert sum(p.tokens for p in budget.parts if p.included) == budget.prompt_tokens
    assert all(p.tokens > 0 for p in budget.parts)


def test_overflow_keeps_priorities_and_reports_drops(count: Any, tokenizer: Any) -> None:
    passages = [passage(i, score=1.0 - i / 10, words=4) for i in range(1, 6)]
    history = [(f"question {i}?", SENTENCE * 2) for i in range(4)]
    prompt, budget = build(
        count,
        tokenizer,
        400,
        64,
        passages=passages,
        tool_results=["calculator.evaluate: 12% of 3400 = 408"],
        history=history,
    )
    assert count(prompt) == budget.prompt_tokens <= 400 - 64
    by_kind = {kind: [p for p in budget.parts if p.kind == kind] for kind in ("tools", "passage")}
    assert all(p.included for p in by_kind["tools"])
    included = [p.included for p in by_kind["passage"]]
    assert included[0] and not all(included)
    # Higher scores first: no dropped passage is followed by a fully included one.
    assert included == sorted(included, reverse=True)
    assert any(p.kind == "history" and not p.included for p in budget.parts)
    assert "408" in prompt and "passage 1." in prompt and "passage 5." not in prompt


def test_passage_cut_on_token_boundary_with_marker(count: Any, tokenizer: Any) -> None:
    long = ScoredPassage("notes/long.md:1-80", SENTENCE * 40, 1.0)
    prompt, budget = build(count, tokenizer, 128, 16, passages=[long])
    part = next(p for p in budget.parts if p.kind == "passage")
    assert part.included and part.cut
    assert CUT_MARKER.strip() in prompt
    assert budget.prompt_tokens <= 112
    cut_text = prompt.split("(notes/long.md:1-80)\n", 1)[1].split(CUT_MARKER)[0]
    assert len(cut_text) > 20 and long.text.startswith(cut_text)  # a head, cut between tokens
    # The room was used: another token of the passage would not have fitted.
    assert budget.prompt_tokens > 112 - 12


def test_long_question_is_cut_from_the_left(count: Any, tokenizer: Any) -> None:
    question = "padding words " * 200 + "so what does beam search keep?"
    prompt, budget = build(count, tokenizer, 128, 32, question=question, history=[("a", "b")])
    q = budget.parts[0]
    assert q.kind == "question" and q.cut and q.included
    assert LEFT_CUT_MARKER in prompt
    assert prompt.rstrip().endswith("so what does beam search keep?\nAnswer:")
    assert budget.prompt_tokens <= 96
    assert [p.included for p in budget.parts if p.kind == "history"] == [False]


def test_no_room_for_the_template_is_an_error(count: Any, tokenizer: Any) -> None:
    with pytest.raises(ContextLengthError):
        build(count, tokenizer, 128, 127)
    with pytest.raises(ContextLengthError):
        build(count, tokenizer, 128, 128)


def test_random_mixes_never_exceed_the_budget(count: Any, tokenizer: Any) -> None:
    rng = random.Random(7)
    for trial in range(25):
        passages = [
            passage(i, rng.random(), words=rng.randint(0, 6)) for i in range(rng.randint(0, 5))
        ]
        tools = [f"tool {i}: " + SENTENCE * rng.randint(0, 5) for i in range(rng.randint(0, 2))]
        history = [(f"q{i}?", SENTENCE * rng.randint(0, 3)) for i in range(rng.randint(0, 4))]
        question = "what is beam search? " * rng.randint(1, 40)
        context = rng.choice([128, 200, 300, 1024])
        new = rng.randint(8, 64)
        prompt, budget = build(
            count,
            tokenizer,
            context,
            new,
            question=question,
            passages=passages,
            tool_results=tools,
            history=history,
        )
        assert count(prompt) == budget.prompt_tokens <= context - new, trial
        kinds = [p.kind for p in budget.parts]
        assert kinds.count("passage") == len(passages)
        assert kinds.count("tools") == len(tools)
        assert kinds.count("history") == len(history)
        for part in budget.parts:
            if part.kind == "passage" and part.included:
                assert f"({part.label})" in prompt


@pytest.mark.parametrize("n", [0, 1, 5, 17])
def test_cutters_respect_the_token_count(count: Any, tokenizer: Any, n: int) -> None:
    text = "Zażółć gęślą jaźń. " + SENTENCE * 3
    for cutter in (TokenizerCutter(tokenizer), CountingCutter(count)):
        head, tail = cutter.head(text, n), cutter.tail(text, n)
        assert count(head) <= n and count(tail) <= n
        assert text.startswith(head) and text.endswith(tail)
        if n >= 5:  # one token can be half a merged pair: an empty cut is honest
            assert head and tail


def test_max_prompt_tokens_caps_below_the_context(count: Any, tokenizer: Any) -> None:
    passages = [passage(i, 1.0 - i / 10, words=4) for i in range(1, 5)]
    _, full = build(count, tokenizer, 1024, 64, passages=passages)
    prompt, capped = build_prompt(
        "What does beam search keep?",
        passages=passages,
        tool_results=[],
        history=[],
        count_tokens=count,
        context_length=1024,
        max_new_tokens=64,
        cutter=TokenizerCutter(tokenizer),
        max_prompt_tokens=120,
    )
    assert full.available == 960 and capped.available == 120
    assert full.prompt_tokens > 120 >= capped.prompt_tokens == count(prompt)
    assert capped.dropped and not full.dropped


def test_tool_result_capped_before_budgeting_is_reported_cut(count: Any, tokenizer: Any) -> None:
    results = ["calculator.evaluate: 2 ** 10 = 1024", "slow.big: 0000 [… cut: 9,000 omitted]"]
    prompt, budget = build(
        count, tokenizer, 1024, 64, tool_results=results, tool_results_capped=[False, True]
    )
    tools = [p for p in budget.parts if p.kind == "tools"]
    assert [p.included for p in tools] == [True, True]
    assert [p.cut for p in tools] == [False, True]  # fits whole, yet reported as cut
    assert all(r in prompt for r in results)
