"""Sentence spans in the seed pages' languages, relevance terms, and [n] citation markers."""

from __future__ import annotations

import itertools
from pathlib import Path

from assistant.chat.citations import Citer, cite
from assistant.core.relevance import terms, word_overlap
from assistant.core.sentences import split_sentences
from assistant.core.types import Provenance, TokenStep

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "course-seeds"


def texts(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


def test_western_sentences_keep_decimals_and_abbreviations() -> None:
    text = "Top-p keeps 0.9 of the mass, e.g. a few tokens. Then it samples! Why? Because."
    assert texts(text) == [
        "Top-p keeps 0.9 of the mass, e.g. a few tokens.",
        "Then it samples!",
        "Why?",
        "Because.",
    ]


def test_list_numbers_are_not_sentence_ends() -> None:
    text = "It adds them up until 0.9:\n1. mat: cumulative 0.591.\n2. floor: 0.809."
    assert texts(text) == ["It adds them up until 0.9:", "mat: cumulative 0.591.", "floor: 0.809."]
    assert texts("Released in 2019. GPT-3 came in 2020.") == [
        "Released in 2019.",
        "GPT-3 came in 2020.",
    ]


def test_polish_and_russian_sentences() -> None:
    assert texts("Model jest karany. Używamy funkcji log loss.") == [
        "Model jest karany.",
        "Używamy funkcji log loss.",
    ]
    assert texts("GPT-2 — 1024 токенов. Это много?  Да!") == [
        "GPT-2 — 1024 токенов.",
        "Это много?",
        "Да!",
    ]


def test_cjk_full_stops_end_sentences_without_spaces() -> None:
    assert texts("注意力機制很重要。多頭注意力怎麼做？「好」！結束") == [
        "注意力機制很重要。",
        "多頭注意力怎麼做？",
        "「好」！",
        "結束",
    ]
    assert texts("マスクされた言語モデリング。モデルは双方向です。") == [
        "マスクされた言語モデリング。",
        "モデルは双方向です。",
    ]


def test_markdown_blocks_and_structure() -> None:
    text = (
        "## Beam search\nBeam search keeps beams,\nseveral of them.\n- first item\n- second\n\n"
        "| a | b |\n| 1 | 2 |"
    )
    sentences = split_sentences(text)
    got = [(text[s.start : s.end], s.structure) for s in sentences]
    assert got == [
        ("Beam search", True),
        ("Beam search keeps beams,\nseveral of them.", False),
        ("first item", False),
        ("second", False),
        ("| a | b |", True),
        ("| 1 | 2 |", True),
    ]


def test_seed_pages_split_into_sentences() -> None:
    for page in sorted(SEEDS.glob("*.txt")):
        text = page.read_text(encoding="utf-8")
        sentences = split_sentences(text)
        assert len(sentences) > 20, page.name
        for s in sentences:  # spans in order, never empty, never overlapping
            assert text[s.start : s.end].strip() == text[s.start : s.end]
        assert all(a.end <= b.start for a, b in itertools.pairwise(sentences))


def test_terms_stem_inflections_and_split_cjk() -> None:
    assert terms("modelu") == terms("modele") == ["model"]
    assert terms("токенов") == terms("токены")
    assert terms("注意力") == ["注意", "意力"]
    assert "what" not in terms("What does nucleus sampling keep?")


def test_word_overlap_prefers_the_sentence_with_the_question_terms() -> None:
    sentences = ["Beam search keeps beams.", "Nucleus sampling keeps the smallest set.", "Other."]
    scores = word_overlap("What does nucleus sampling keep?", sentences)
    assert scores.index(max(scores)) == 1 and scores[2] == 0.0


def step(index: int, text: str, passage: int | None, line: int = 1) -> TokenStep:
    provenance = Provenance(
        0.1,
        0.9 if passage else 0.0,
        0.9,
        3,
        f"notes.md:{line}-{line}" if passage else None,
        passage,
        line if passage else None,
    )
    return TokenStep(index, index, text, -1.0, -0.5, 1, provenance=provenance)


def test_copied_sentences_get_their_passage_marker() -> None:
    steps = [
        step(0, " Nucleus", 2, 7),
        step(1, " sampling", 2, 7),
        step(2, " keeps", 2, 8),
        step(3, ".", 2, 8),
        step(4, " I", None),
        step(5, " think", None),
        step(6, " so", None),
        step(7, ".", 1),
        step(8, " Yes", 1),
        step(9, ".", 1),
    ]
    text, citations = cite(steps)
    assert text == " Nucleus sampling keeps. [2] I think so. Yes. [1]"
    assert [(c.sentence, c.passages, c.lines) for c in citations] == [
        ("Nucleus sampling keeps.", (2,), (7, 8)),
        ("Yes.", (1,), (1,)),
    ]


def test_streaming_citer_releases_the_marker_when_the_next_sentence_starts() -> None:
    citer = Citer()
    out = [citer.push(step(0, " Top", 1)), citer.push(step(1, "-p.", 1))]
    assert out == [" Top", "-p."]  # not yet: "-p." could go on ("-p.9")
    assert citer.push(step(2, " Then", None)) == " [1] Then"
    assert citer.finish() == ""


def test_cjk_sentence_marker_without_a_space_after() -> None:
    text, _ = cite([step(0, "注意", 3), step(1, "力。", 3), step(2, "好", None)])
    assert text == "注意力。 [3]好"


def test_steps_without_provenance_are_never_cited() -> None:
    plain = TokenStep(0, 5, " Hello.", -1.0, -1.0, 1)
    assert cite([plain, TokenStep(1, 6, " World.", -1.0, -1.0, 1)]) == (" Hello. World.", [])


def test_the_chat_layer_imports_without_torch() -> None:
    """The chat opens at once: building prompts, grounding input and citations must not load
    torch or transformers (the engine loads them in a worker)."""
    import subprocess
    import sys

    code = (
        "import sys, assistant.chat.session, assistant.chat.citations, assistant.chat.grounding;"
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
