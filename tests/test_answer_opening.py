"""Where a grounded answer opens (core/answer_cues.py, grounding's opening weights): the better-
ranked passage wins a tie, a definition question opens on the sentence defining its term, and
a sentence that points back ("This is called …") hands the opening to the one before it."""

from __future__ import annotations

import math

import pytest

from assistant.core.answer_cues import names_subject, refers_back
from assistant.core.grounding import DEFINITION_BOOST, PASSAGE_RANK_BOOST, SHARPNESS
from tests.test_grounding import copy_probs, processor, step


def test_a_tie_between_passages_goes_to_the_better_ranked_one() -> None:
    proc, tok = processor(
        [("b.md:1-1", "Kappa lambda beam width."), ("a.md:1-1", "Omicron pi beam width.")],
        question="what is the beam width",
    )
    step(proc, [])
    votes = copy_probs(proc)
    assert votes[tok.id("Kappa")] > votes[tok.id("Omicron")]
    # As much as the boost says: passage 1 ×(1 + B), passage 2 ×(1 + B/2), both scaled to 1.
    ratio = votes[tok.id("Kappa")] / votes[tok.id("Omicron")]
    second = (1 + PASSAGE_RANK_BOOST / 2) / (1 + PASSAGE_RANK_BOOST)
    assert ratio == pytest.approx(math.exp(SHARPNESS * (1 - second)), rel=1e-6)


def test_a_definition_question_opens_on_the_sentence_defining_its_term() -> None:
    text = "Models turn logits into probabilities with softmax. Logits: raw scores per token."
    proc, tok = processor([("g.md:1-1", text)], question="What are logits?")
    step(proc, [])
    votes = copy_probs(proc)
    assert votes[tok.id("Logits:")] > 0.9 > votes[tok.id("Models")]
    # The same sentences for a question that asks for no definition: no boost.
    plain, tok2 = processor([("g.md:1-1", text)], question="Why turn logits into probabilities?")
    step(plain, [])
    assert copy_probs(plain)[tok2.id("Models")] > 0.5


def test_a_sentence_pointing_back_lends_its_opening_to_the_one_before() -> None:
    text = "Unrelated words here first. Training on true previous tokens. This is teacher forcing."
    proc, tok = processor([("n.md:1-1", text)], question="What is teacher forcing in training?")
    step(proc, [])
    votes = copy_probs(proc)
    assert votes[tok.id("Training")] > votes.get(tok.id("This"), 0.0)
    assert votes[tok.id("Training")] > votes.get(tok.id("Unrelated"), 0.0)
    # After the opening, copying follows the passage: "This" comes after "tokens.".
    step(proc, [tok.id(w) for w in ["Training", "on", "true", "previous", "tokens."]])
    following = copy_probs(proc)
    assert max(following, key=lambda token: following[token]) == tok.id("This")


def test_cues_in_three_languages() -> None:
    openers = ["This is called X.", "It has two variants.", "To jest model.", "Это модель."]
    assert all(refers_back(openers))
    assert refers_back(["Thistle grows.", "The model."]) == [False, False]
    assert names_subject("What is the base vocabulary of BPE?", ["The base vocabulary is 256."])
    assert names_subject("What is BPE?", ["The base vocabulary is 256 bytes."]) == [False]
    assert names_subject("Which BPE base vocabulary?", ["The base vocabulary is 256."]) == [False]
    assert DEFINITION_BOOST > 0
