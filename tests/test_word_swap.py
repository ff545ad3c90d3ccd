"""Word swaps in QA examples: consistent, shape-keeping, and the answer stays copyable."""

from __future__ import annotations

import random
import re

from assistant.chat.template import HEADER
from assistant.training.data import Document
from assistant.training.qa_examples import build_examples, document_passages
from assistant.training.word_swap import WordSwapper, apply_swaps


def test_a_swap_table_is_applied_consistently_and_keeps_capitalisation() -> None:
    table = {"beam": "softmax", "bert": "gpt", "15": "42"}
    text = "Beam search: a beam of width 15. BERT masks; bert also."
    assert apply_swaps(text, table) == "Softmax search: a softmax of width 42. GPT masks; gpt also."
    assert apply_swaps(text, {}) == text


def test_tables_skip_protected_and_short_words_and_keep_number_shapes() -> None:
    swapper = WordSwapper(
        ["alpha", "beta", "gamma", "context"], protected=["context", "the", "and"]
    )
    assert "context" not in swapper.vocabulary
    texts = ["The context of 0.95 and 1024 tokens in a beam", "of"]
    table = swapper.table(texts, share=1.0, rng=random.Random(0))
    assert set(table) == {"0.95", "1024", "tokens", "beam"}
    assert re.fullmatch(r"\d\.\d\d", table["0.95"])
    assert re.fullmatch(r"[1-9]\d{3}", table["1024"])
    assert table["tokens"] in swapper.vocabulary and table["beam"] in swapper.vocabulary
    assert swapper.table(texts, share=0.0, rng=random.Random(0)) == {}


NOTE = """# Sampling

## Temperature

Temperature divides the logits by a constant before the softmax is taken. A temperature of 0.7
sharpens the distribution, while a temperature above one flattens it toward uniform choices.

## Nucleus sampling

Nucleus sampling keeps the smallest set of tokens whose probability mass reaches p, then
renormalises. With p set to 0.9 the kept set changes size from one step to the next.
"""


def test_swapped_examples_differ_from_the_notes_but_answers_stay_in_the_context() -> None:
    passages = document_passages(Document(path=None, name="notes/sampling.md", text=NOTE))  # type: ignore[arg-type]
    plain = build_examples(passages, 30, seed=5)
    swapped = build_examples(passages, 30, seed=5, swap_share=1.0)
    note_words = " ".join(NOTE.split())
    changed = 0
    for example in swapped:
        assert example.text.startswith(HEADER)
        assert "\nContext:\n" in example.text and "\nAnswer:" in example.text
        context = example.text[: example.text.index("\nQuestion:")]
        for start, end in example.spans:
            answer = example.text[start:end].removesuffix("<|endoftext|>").strip()
            core = answer.removesuffix(" ...").rstrip(".")
            assert core.lower() in " ".join(context.split()).lower()
            changed += core not in note_words
    assert changed > 0  # the swapped answers are not sentences of the notes
    assert all(
        ex.spans and ex.text[ex.spans[-1][0] :].strip().removesuffix("<|endoftext|>")
        for ex in plain
    )
