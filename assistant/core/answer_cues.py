"""Cues in a sentence's own words about how it answers: whether it leans on the sentence
before it, and whether its subject is the thing a definition question asks about.

Grounding uses them to choose where an answer opens (``core/grounding.py``); measured with
``benchmarks/answer_rate.py --pipeline``. Plain regular expressions over English, Polish and
Russian openers; no model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.core.relevance import terms

# A sentence opening on a pronoun or a demonstrative ("This is called teacher forcing.", "It
# has two variants.", Polish "To …", Russian "Это …") does not say on its own what it is about.
_REFERS_BACK = re.compile(
    r"^(This|That|These|Those|It|Its|They|Such|Here|To|Ten|Ta|Te|Dzięki temu|"
    r"Это|Этот|Эта|Эти|Он|Она|Они|Поэтому)\b"
)
# Where a sentence's subject ends: "Logits: …", "The base vocabulary is …", "LoRA (…)".
_SUBJECT_END = re.compile(r":|\s(is|are|was|were|means|refers to)\s|\s\(")
MAX_SUBJECT_CHARS = 60  # a longer lead-in is a clause, not a term being defined
_DEFINITION_QUESTION = re.compile(
    r"^\s*(what|who)\s+(is|are|was|were|does|do)\b|\bdefin|^\s*(co to|czym)\b|^\s*что\s+так",
    re.IGNORECASE,
)


def refers_back(sentences: Sequence[str]) -> list[bool]:
    """Whether each sentence opens by pointing back at the sentence before it."""
    return [bool(_REFERS_BACK.match(s)) for s in sentences]


def names_subject(question: str, sentences: Sequence[str]) -> list[bool]:
    """For a definition question ("What are logits?", "What is the base vocabulary of
    byte-level BPE?"), whether each sentence's subject consists of the question's terms
    ("Logits: the raw …", "The base vocabulary is …"); all False for other questions."""
    if not _DEFINITION_QUESTION.search(question):
        return [False] * len(sentences)
    wanted = set(terms(question))
    found = []
    for sentence in sentences:
        end = _SUBJECT_END.search(sentence)
        subject = terms(sentence[: end.start()]) if end and end.start() <= MAX_SUBJECT_CHARS else []
        found.append(bool(subject) and set(subject) <= wanted)
    return found


__all__ = ["names_subject", "refers_back"]
