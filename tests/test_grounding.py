"""Passage copy (core/grounding.py): the copy distribution, the mixture, provenance, the
grounded stop, and degrading to the plain model on bad input."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch

from assistant.core.decoding import DecodingSettings
from assistant.core.engine import Engine
from assistant.core.grounding import (
    MAX_MATCH,
    CopyIndex,
    GroundingInput,
    PassageCopyProcessor,
    SourceText,
    build_copy_processor,
)
from assistant.errors import UsageError


class WordTokenizer:
    """Whitespace words → ids, with character offsets, like a fast HF tokenizer's call."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def id(self, word: str) -> int:
        return self.ids.setdefault(word, len(self.ids) + 1)

    def __call__(self, text: str, **_: Any) -> dict[str, Any]:
        ids, offsets, position = [], [], 0
        for word in text.split():
            start = text.index(word, position)
            ids.append(self.id(word))
            offsets.append((start, start + len(word)))
            position = start + len(word)
        return {"input_ids": ids, "offset_mapping": offsets}


VOCAB = 64


def processor(
    sources: list[tuple[str, str]], question: str = "", relevance: Any = None, **kwargs: Any
) -> tuple[PassageCopyProcessor, WordTokenizer]:
    tok = WordTokenizer()
    grounding = GroundingInput(
        question, tuple(SourceText(label, text) for label, text in sources), relevance
    )
    index = CopyIndex.build(tok, grounding)
    return PassageCopyProcessor(index, prompt_length=1, strength=0.9, **kwargs), tok


def step(proc: PassageCopyProcessor, answer: list[int], scores: torch.Tensor | None = None) -> Any:
    ids = torch.tensor([[0, *answer]])
    scores = torch.zeros(1, VOCAB) if scores is None else scores
    return proc(ids, scores)[0]  # type: ignore[arg-type]


def feed(proc: PassageCopyProcessor, answer: list[int], scores: torch.Tensor) -> None:
    """One call per generated token, as the decode loop makes them."""
    for end in range(len(answer) + 1):
        step(proc, answer[:end], scores)


def copy_probs(proc: PassageCopyProcessor) -> dict[int, float]:
    return {token: prob for token, (prob, _) in proc._votes.items()}


def test_first_step_votes_for_sentence_starts_weighted_by_relevance() -> None:
    proc, tok = processor(
        [("a.md:1-1", "Alpha beta gamma delta. Omega sigma tau rho.")],
        question="what is omega sigma",
    )
    mixed = step(proc, [])
    votes = copy_probs(proc)
    assert set(votes) == {tok.id("Alpha"), tok.id("Omega")}
    # The relevant sentence outweighs the other e^SHARPNESS-fold.
    assert votes[tok.id("Omega")] > 50 * votes[tok.id("Alpha")]
    assert int(torch.argmax(mixed)) == tok.id("Omega")
    assert proc._weight == pytest.approx(0.9)


def test_longest_match_decides_and_backs_off_when_it_breaks() -> None:
    proc, tok = processor(
        [("a.md:1-2", "x one two three. y one two four. z two five six.")],
    )
    one, two = tok.id("one"), tok.id("two")
    step(proc, [tok.id("x"), one, two])
    # "x one two" occurs once: only "three." follows it. The answer opened on that sentence's
    # start, and the start counts as one matched token.
    assert copy_probs(proc) == {tok.id("three."): 1.0}
    assert proc._match == 4
    # "... two z": "z" occurs, matched alone (length 1, the longer suffix is gone).
    step(proc, [tok.id("x"), one, two, tok.id("z")])
    assert proc._match == 1
    assert set(copy_probs(proc)) == {two}
    # A token that is nowhere in the passages: no match, λ = 0, the model's distribution.
    scores = torch.randn(1, VOCAB)
    out = step(proc, [tok.id("x"), one, two, tok.id("z"), 60], scores)
    assert proc._match == 0 and proc._weight == 0.0
    assert torch.allclose(out, torch.log_softmax(scores[0], -1), atol=1e-6)


def test_occurrences_of_a_suffix_share_votes_by_sentence_weight() -> None:
    weights = {"common start here.": 1.0, "common end there.": 3.0}

    def relevance(question: str, sentences: Any) -> list[float]:
        return [weights.get(s, 0.0) for s in sentences]

    proc, tok = processor([("a.md:1-1", "common start here. common end there.")], "q", relevance)
    step(proc, [tok.id("common")])
    votes = copy_probs(proc)
    # exp(6 · 1/3) : exp(6 · 3/3)
    ratio = votes[tok.id("end")] / votes[tok.id("start")]
    assert ratio == pytest.approx(math.exp(6.0 - 2.0), rel=1e-6)
    assert sum(votes.values()) == pytest.approx(1.0)


def test_match_length_is_capped() -> None:
    words = " ".join(f"w{i}" for i in range(30)) + "."
    proc, tok = processor([("a.md:1-1", words)])
    step(proc, [tok.id(f"w{i}") for i in range(20)])
    assert proc._match == MAX_MATCH


def test_weight_grows_with_match_length() -> None:
    proc, tok = processor([("a.md:1-1", "a b c d e f.")])
    step(proc, [tok.id("z") if "z" in tok.ids else 63, tok.id("b")])
    one = proc._weight
    step(proc, [63, tok.id("b"), tok.id("c")])
    assert 0 < one < proc._weight <= 0.9


def test_mixed_distribution_sums_to_one_and_keeps_model_mass() -> None:
    proc, tok = processor([("a.md:1-1", "one two three four.")])
    scores = torch.randn(1, VOCAB)
    out = step(proc, [tok.id("one"), tok.id("two")], scores)
    probs = torch.exp(out)
    assert float(probs.sum()) == pytest.approx(1.0, abs=1e-5)
    model = torch.softmax(scores[0], -1)
    lam = proc._weight
    three = tok.id("three")
    assert float(probs[three]) == pytest.approx((1 - lam) * float(model[three]) + lam, abs=1e-6)
    other = 50
    assert float(probs[other]) == pytest.approx((1 - lam) * float(model[other]), abs=1e-7)


def test_provenance_points_at_passage_and_line() -> None:
    text = "Intro line here.\n\nThe answer sits\non this second line."
    proc, tok = processor(
        [("notes/a.md:1-2", "Nothing to see here."), ("notes/b.md:10-13", text)], "answer"
    )
    answer = [tok.id("The"), tok.id("answer"), tok.id("sits"), tok.id("on")]
    step(proc, answer[:3])
    provenance = proc.provenance(tok.id("on"))
    assert provenance.copied and provenance.passage == 2
    assert provenance.source == "notes/b.md:10-13"
    assert provenance.line == 13  # "on" is on the passage's fourth line: 10 + 3
    step(proc, answer[:1])  # a shorter history: the processor starts again
    assert proc.provenance(tok.id("answer")).line == 12
    model_own = proc.provenance(61)
    assert not model_own.copied and model_own.copy_prob == 0.0 and model_own.line is None


def test_grounded_stop_after_copied_sentences_when_the_model_leaves() -> None:
    text = "One two three four. Five six seven eight. Nine ten eleven twelve."
    proc, tok = processor([("a.md:1-1", text)], sentences=2)
    words = text.split()
    leave = torch.zeros(1, VOCAB)
    leave[0, 60] = 10.0  # the model wants a token that is not in the passages
    feed(proc, [tok.id(w) for w in words[:4]], leave)
    assert not proc.stop_here  # one sentence copied, the next follows in the passage
    feed(proc, [tok.id(w) for w in words[:8]], leave)
    assert proc.stop_here  # two sentences, and the model's own continuation leaves
    stay = torch.zeros(1, VOCAB)
    stay[0, tok.id("Nine")] = 10.0
    proc2, tok2 = processor([("a.md:1-1", text)], sentences=2)
    feed(proc2, [tok2.id(w) for w in words[:8]], stay)
    assert not proc2.stop_here  # the model itself goes on with the passage


def words_of(tok: WordTokenizer, text: str) -> list[int]:
    return [tok.id(word) for word in text.split()]


def test_an_answer_stops_where_its_copied_paragraph_ends() -> None:
    """A glossary: one entry per paragraph. Copying the first entry ends the answer even when
    the model would go on into the next entry (it learnt the glossary's order)."""
    entry = "Temperature: it divides the logits."
    proc, tok = processor([("g.md:1-5", f"{entry}\n\nToken: a unit.\n\nTop-k: k best.")])
    stay = torch.zeros(1, VOCAB)
    stay[0, tok.id("Token:")] = 10.0  # the model's own choice is the next entry
    feed(proc, words_of(tok, entry)[:-1], stay)
    assert not proc.stop_here
    feed(proc, words_of(tok, entry), stay)
    assert proc.stop_here  # one sentence, but its paragraph ended


def test_a_sentence_that_introduces_what_follows_does_not_end_the_answer() -> None:
    """ "… is:" then a blank line and a list, or a formula set off by blank lines: the
    answer goes on, and the sentence holds together across the blank lines as it reads."""
    intro, value = "The softmax of these is:", "mat: about 0.839."
    formula = "The layer computes\n\nh = W x\n\nwhere W is fixed."
    proc, tok = processor([("n.md:1-9", f"{intro}\n\n{value}\n\n{formula}")], sentences=5)
    stay = torch.zeros(1, VOCAB)
    stay[0, tok.id("mat:")] = 10.0
    feed(proc, words_of(tok, intro), stay)
    assert not proc.stop_here
    # Two sentences: "The softmax … 0.839." and "The layer computes h = W x where W is fixed."
    assert proc.index.sentence_passage == [0, 0]
    feed(proc, words_of(tok, f"{intro} {value}"), stay)
    assert proc.stop_here  # that one ends with a full stop and a blank line
    # A list after the blank line: "… are:" is a sentence of its own, and the answer goes on.
    listed, tok2 = processor([("n.md:1-4", "The sizes are:\n\n- small: 124M.\n- big: 1.5B.")])
    wants_list = torch.zeros(1, VOCAB)
    wants_list[0, tok2.id("small:")] = 10.0
    feed(listed, words_of(tok2, "The sizes are:"), wants_list)
    assert len(listed.index.sentence_passage) == 3 and not listed.stop_here


def test_empty_and_degenerate_passages_build_no_processor() -> None:
    tok = WordTokenizer()
    assert build_copy_processor(tok, None, 3, 0.9) is None
    assert build_copy_processor(tok, GroundingInput("q", ()), 3, 0.9) is None
    empty = GroundingInput("q", (SourceText("a:1-1", "   \n\n  "),))
    assert build_copy_processor(tok, empty, 3, 0.9) is None


def test_a_failing_relevance_falls_back_to_word_overlap() -> None:
    def broken(question: str, sentences: Any) -> list[float]:
        raise RuntimeError("scorer down")

    proc, tok = processor([("a.md:1-1", "Alpha beta gamma. Omega sigma tau.")], "omega", broken)
    step(proc, [])
    assert max(copy_probs(proc), key=copy_probs(proc).get) == tok.id("Omega")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- through the engine
@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> Engine:
    return Engine.load(str(tiny_model_dir), allow_fallback=False)


PASSAGE = "Warsaw is the capital city of Poland. Kraków is an old city in the south."
PROMPT = f"Context:\n[1] (notes.md:3-3)\n{PASSAGE}\n\nQuestion: Which city is the capital?\nAnswer:"


def grounding(text: str = PASSAGE, question: str = "Which city is the capital?") -> GroundingInput:
    return GroundingInput(question, (SourceText("notes.md:3-3", text),))


def test_grounding_off_is_the_plain_engine(engine: Engine) -> None:
    plain = engine.generate(PROMPT, DecodingSettings(max_new_tokens=12))
    off = engine.generate(PROMPT, DecodingSettings(max_new_tokens=12), grounding=grounding())
    assert [s.token_id for s in off.steps] == [s.token_id for s in plain.steps]
    assert all(s.provenance is None for s in off.steps)


def test_copy_makes_a_random_model_quote_the_relevant_sentence(engine: Engine) -> None:
    settings = DecodingSettings(max_new_tokens=40, grounding="copy", grounded_sentences=1)
    out = engine.generate(PROMPT, settings, grounding=grounding())
    assert out.text.strip() == "Warsaw is the capital city of Poland."
    assert out.finish_reason in ("sentence_end", "length")
    assert all(s.provenance is not None for s in out.steps)
    copied = [s for s in out.steps if s.provenance and s.provenance.copied]
    assert copied and all(s.provenance.passage == 1 and s.provenance.line == 3 for s in copied)  # type: ignore[union-attr]
    for s in out.steps:
        p = s.provenance
        assert p is not None
        assert s.processed_prob == pytest.approx(p.mixed_prob, rel=1e-4, abs=1e-7)


@pytest.mark.parametrize(
    "extra",
    [
        {"strategy": "sample", "temperature": 0.7, "seed": 1},
        {"strategy": "sample", "top_k": 5, "seed": 2},
        {"strategy": "sample", "top_p": 0.8, "seed": 3},
        {"repetition_penalty": 1.3},
        {"strategy": "sample", "temperature": 1.2, "top_k": 20, "top_p": 0.9, "seed": 4},
    ],
)
def test_copy_composes_with_the_other_processors(engine: Engine, extra: dict[str, Any]) -> None:
    settings = DecodingSettings(max_new_tokens=10, grounding="copy", grounded_stop=False, **extra)
    out = engine.generate(PROMPT, settings, grounding=grounding())
    assert len(out.steps) == 10
    for s in out.steps:
        p = s.provenance
        assert p is not None and 0.0 <= p.model_prob <= 1.0
        assert s.processed_prob == pytest.approx(p.mixed_prob, rel=1e-4, abs=1e-7)
        # The sampled token had probability > 0 under the mixture that was sampled from.
        assert s.processed_prob > 0
        assert math.isfinite(s.logprob)


def test_context_aware_decoding_runs_with_copy(engine: Engine) -> None:
    settings = DecodingSettings(max_new_tokens=8, grounding="copy+cad", cad_alpha=1.0)
    g = GroundingInput(
        "Which city is the capital?",
        (SourceText("notes.md:3-3", PASSAGE),),
        unconditional_prompt="Question: Which city is the capital?\nAnswer:",
    )
    out = engine.generate(PROMPT, settings, grounding=g)
    plain_copy = engine.generate(PROMPT, settings.replace(grounding="copy"), grounding=g)
    assert out.steps and all(s.provenance is not None for s in out.steps)
    # The guidance changes the model side of the mixture.
    assert (
        [s.provenance.model_prob for s in out.steps[:1]]
        != [  # type: ignore[union-attr]
            s.provenance.model_prob  # type: ignore[union-attr]
            for s in plain_copy.steps[:1]
        ]
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "日本語のテキスト。中文文本。" * 3,  # the tokenizer splits these into bytes
        ("Warsaw is the capital city of Poland. " * 400),  # longer than the context
        "....!!!???\n\n||||",
    ],
)
def test_bad_passages_degrade_to_the_plain_model(engine: Engine, text: str) -> None:
    settings = DecodingSettings(max_new_tokens=6, grounding="copy")
    out = engine.generate(PROMPT, settings, grounding=grounding(text, "中文 какой город?"))
    assert out.finish_reason in ("length", "eos", "sentence_end", "stop")


def test_bytes_split_text_is_copied_verbatim(engine: Engine) -> None:
    text = "中文文本。"
    settings = DecodingSettings(max_new_tokens=20, grounding="copy", grounded_sentences=1)
    out = engine.generate(PROMPT, settings, grounding=grounding(text, "中文"))
    assert out.text.strip().startswith("中文文本。")


def test_grounding_settings_are_validated() -> None:
    for bad in (
        {"grounding": "maybe"},
        {"copy_strength": 0.0},
        {"copy_strength": 1.5},
        {"cad_alpha": -1.0},
        {"grounded_sentences": 0},
        {"grounded_stop": "yes"},
        {"grounding": "copy", "strategy": "beam"},
    ):
        with pytest.raises(UsageError):
            DecodingSettings.from_mapping(bad)
    ok = DecodingSettings.from_mapping({"grounding": "copy+cad", "copy_strength": 1.0})
    assert ok.to_dict()["grounding"] == "copy+cad"
