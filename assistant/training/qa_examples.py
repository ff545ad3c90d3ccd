"""Question-answer examples in the assistant's own retrieval prompt format.

A base model learns to answer from retrieved passages only if it has seen that pattern.
For each usable sentence of the documents we write a question that shares its key terms
(from the section heading, the sentence's rarest words, or a "X is ..." definition), put the
passage holding that sentence among 0-3 distractor passages in random order, and use the
sentence (or its clause holding the key term) as the answer. Nothing here reads
``QUESTIONS.jsonl``: that file is the held-out evaluation of exactly this skill.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.chat.template import ANSWER_CUE, ContextPassage, render_prompt
from assistant.training.data import IGNORE_INDEX, Document
from assistant.training.word_swap import WordSwapper, apply_swaps

MAX_PASSAGE_WORDS = 160
CONTEXT_WORD_BUDGET = 240
MAX_ANSWER_WORDS = 40
MIN_ANSWER_WORDS = 5
END_OF_TEXT = "<|endoftext|>"
SWAPPED_WORD_SHARE = 0.5  # of the distinct content words and numbers of a swapped example

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(`*])")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]*")
_DEFINITION = re.compile(
    r"^(?:The |A |An )?(?P<subject>[^,;:()]{3,50}?) (?P<verb>is|are|means|refers to) "
)
_STOPWORD_TEXT = """
a about above after again all also an and any are as at be because been before being below
between both but by can could did do does doing down during each every few for from
further had has have having he her here hers how however i if in into is it its itself
just more most much must no nor not now of off often on once one only or other our out
over own same she should so some such than that the their them then there these they this
those through thus to too under until up very was we were what when where which while who
whom why will with would you your it's that's there's uses used use using make makes made
way ways many two three first second new also see notes note example instead usually
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# Words of the prompt template itself never change in a swapped example.
_PROTECTED = _STOPWORDS | frozenset(_WORD.findall(render_prompt("", [ContextPassage("", "")])))


@dataclass(frozen=True)
class Passage:
    source: str  # "corpus/decoding.md:12-18", like the retriever's passages
    heading: str
    text: str
    sentences: tuple[str, ...]  # candidate answers (prose only, sensible length)


@dataclass(frozen=True)
class QAExample:
    text: str  # a rendered prompt followed by its answer, "\n\n" and <|endoftext|>
    spans: tuple[tuple[int, int], ...]  # character ranges of the answers trained on


def split_sentences(text: str) -> list[str]:
    flat = " ".join(line.strip() for line in text.splitlines())
    return [s.strip() for s in _SENTENCE_END.split(flat) if s.strip()]


def _is_prose(paragraph: str) -> bool:
    first = paragraph.lstrip()
    return not first.startswith(("```", "|", "    ", "<", "$$")) and len(_WORD.findall(first)) >= 8


def document_passages(doc: Document, exclude: frozenset[str] = frozenset()) -> list[Passage]:
    """Paragraph-sized passages with their line ranges; ``exclude`` drops held-out paragraphs."""
    passages: list[Passage] = []
    heading = ""
    lines = doc.text.split("\n")
    start: int | None = None
    for number, line in enumerate([*lines, ""], start=1):
        if line.strip() and start is None:
            start = number
        if line.strip() or start is None:
            continue
        paragraph = "\n".join(lines[start - 1 : number - 1]).strip()
        first_line = start
        start = None
        if paragraph.startswith("#"):
            heading = paragraph.lstrip("#").strip().split("\n")[0]
            continue
        if paragraph in exclude or len(paragraph.split()) > 3 * MAX_PASSAGE_WORDS:
            continue
        sentences: tuple[str, ...] = ()
        if _is_prose(paragraph):
            sentences = tuple(
                s
                for s in split_sentences(paragraph)
                if MIN_ANSWER_WORDS <= len(s.split()) <= 2 * MAX_ANSWER_WORDS
            )
        source = f"{doc.name}:{first_line}-{number - 1}"
        passages.append(Passage(source, heading, paragraph, sentences))
    return passages


class _TermScorer:
    """Rarity of words and word pairs across all sentences (inverse document frequency)."""

    def __init__(self, passages: Sequence[Passage]) -> None:
        self.df: Counter[str] = Counter()
        self.n = 0
        for p in passages:
            for s in p.sentences:
                self.n += 1
                self.df.update(set(self.terms(s)))

    @staticmethod
    def terms(sentence: str) -> list[str]:
        words = [w.lower().strip("'-") for w in _WORD.findall(sentence)]
        content = [w for w in words if w not in _STOPWORDS and len(w) > 2]
        pairs = [
            f"{a} {b}"
            for a, b in itertools.pairwise(words)
            if a not in _STOPWORDS and b not in _STOPWORDS and len(a) > 2 and len(b) > 2
        ]
        return content + pairs

    def ranked(self, sentence: str) -> list[str]:
        def score(term: str) -> float:
            bonus = 1.3 if " " in term else 1.0  # a pair names a concept better than a word
            return bonus * math.log((1 + self.n) / (1 + self.df[term]))

        unique = dict.fromkeys(self.terms(sentence))
        return sorted(unique, key=lambda t: (-score(t), t))


_TERM_QUESTIONS = (
    "What is {t}?",
    "What does the course say about {t}?",
    "What do the notes say about {t}?",
    "Tell me about {t}.",
    "Explain {t}.",
    "How does {t} work?",
    "What should I know about {t}?",
    "Can you explain {t}?",
    "What about {t}?",
    "What is the role of {t}?",
    "Why does {t} matter?",
    "How is {t} described in the notes?",
)
_PAIR_QUESTIONS = (
    "How are {t} and {u} related?",
    "What does the course say about {t} and {u}?",
    "What is said about {t} in the context of {u}?",
)
_HEADING_QUESTIONS = (
    "What is {h}?",
    "Explain {h}.",
    "What do the notes say about {h}?",
    "Summarize {h}.",
    "What is the main point of {h}?",
)
_DEFINITION_QUESTIONS = (
    "What {v} {s}?",
    "What {v} {s}? Answer briefly.",
    "Define {s}.",
    "In the notes, what {v} {s}?",
)


def _question_and_answer(
    passage: Passage, sentence: str, scorer: _TermScorer, rng: random.Random
) -> tuple[str, str]:
    answer = sentence
    words = sentence.split()
    definition = _DEFINITION.match(sentence)
    ranked = scorer.ranked(sentence)
    roll = rng.random()
    if definition and roll < 0.3:
        subject = definition["subject"].strip()
        verb = "is" if definition["verb"] in ("means", "refers to") else definition["verb"]
        question = rng.choice(_DEFINITION_QUESTIONS).format(v=verb, s=_lower_first(subject))
    elif passage.heading and sentence == passage.sentences[0] and roll < 0.5:
        question = rng.choice(_HEADING_QUESTIONS).format(h=_lower_first(passage.heading))
    elif len(ranked) >= 2 and roll < 0.65:
        top = ranked[: min(4, len(ranked))]
        first, second = rng.sample(top, 2)
        question = rng.choice(_PAIR_QUESTIONS).format(t=first, u=second)
    else:
        term = ranked[min(int(rng.random() ** 2 * 3), len(ranked) - 1)] if ranked else words[0]
        question = rng.choice(_TERM_QUESTIONS).format(t=term)
        # Condensed answer: the clause that holds the asked-about term.
        clauses = [c.strip() for c in sentence.split(";")]
        holding = [c for c in clauses if term.lower() in c.lower()]
        if len(clauses) > 1 and holding and rng.random() < 0.5:
            answer = holding[0].rstrip(".") + "."
            answer = answer[0].upper() + answer[1:]
    if len(answer.split()) > MAX_ANSWER_WORDS:
        answer = " ".join(answer.split()[:MAX_ANSWER_WORDS]).rstrip(",;:") + " ..."
    if rng.random() < 0.1:
        question = question.lower()
    return question, answer


def _lower_first(text: str) -> str:
    # Keep acronyms and names ("GPT-2", "BERT") as they are.
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _shown(passage: Passage, rng: random.Random) -> ContextPassage:
    # The retriever's chunks sometimes start with their heading and sometimes do not.
    if passage.heading and rng.random() < 0.4:
        return ContextPassage(passage.source, f"{passage.heading}\n\n{passage.text}")
    return ContextPassage(passage.source, passage.text)


def build_examples(
    passages: Sequence[Passage], count: int, seed: int, swap_share: float = 0.0
) -> list[QAExample]:
    """``count`` prompts, reproducible from ``seed``, each with 1-4 answered questions.

    Earlier questions of a prompt are rendered as chat history, so one prompt trains several
    answers (the loss is taken on every answer grounded in the shown passages). About
    ``swap_share`` of the prompts get word swaps (see ``word_swap``), so that their answers
    can only be copied from the passage, not recalled.
    """
    answerable = [p for p in passages if p.sentences]
    if not answerable:
        return []
    rng = random.Random(seed)
    scorer = _TermScorer(passages)
    # The scorer has already counted every term of every sentence: its single words are the
    # swap vocabulary.
    swapper = WordSwapper((t for t in scorer.df if " " not in t), _PROTECTED)
    return [
        _example(answerable, passages, scorer, rng, swapper if rng.random() < swap_share else None)
        for _ in range(count)
    ]


def _example(
    answerable: Sequence[Passage],
    passages: Sequence[Passage],
    scorer: _TermScorer,
    rng: random.Random,
    swapper: WordSwapper | None = None,
) -> QAExample:
    golds = rng.sample(list(answerable), min(len(answerable), rng.choice((1, 1, 1, 2))))
    n_questions = rng.choice((1, 2, 3, 4))
    pairs = []
    candidates = [(g, sentence) for g in golds for sentence in g.sentences]
    for gold, sentence in rng.sample(candidates, min(n_questions, len(candidates))):
        pairs.append(_question_and_answer(gold, sentence, scorer, rng))
    others = [p for p in passages if all(p is not g for g in golds)]
    n_distractors = min(len(others), max(0, rng.choice((0, 1, 1, 2, 2, 3)) - len(golds) + 1))
    shown = list(golds)
    words = sum(len(p.text.split()) for p in shown)
    for candidate in rng.sample(others, n_distractors):
        # A word budget keeps most prompts within a few hundred tokens (one training block).
        if words + len(candidate.text.split()) <= CONTEXT_WORD_BUDGET:
            shown.append(candidate)
            words += len(candidate.text.split())
    rng.shuffle(shown)
    past: tuple[str, str] | None = None
    if rng.random() < 0.1:
        # An earlier turn about something not in the context: kept, but not trained on.
        earlier = rng.choice(list(answerable))
        past = _question_and_answer(earlier, rng.choice(earlier.sentences), scorer, rng)
    context = [_shown(p, rng) for p in shown]
    if swapper is not None:
        texts = [c.text for c in context] + [t for pair in pairs for t in pair]
        table = swapper.table(texts, SWAPPED_WORD_SHARE, rng)
        context = [ContextPassage(c.source, apply_swaps(c.text, table)) for c in context]
        pairs = [(apply_swaps(q, table), apply_swaps(a, table)) for q, a in pairs]
    segments: list[tuple[str, bool]] = []  # (text, trained on it)
    if past is not None:
        segments += [(f"Question: {past[0]}\n{ANSWER_CUE}", False), (f" {past[1]}\n\n", False)]
    for q, a in pairs[:-1]:
        segments += [(f"Question: {q}\n{ANSWER_CUE}", False), (f" {a}\n\n", True)]
    question, answer = pairs[-1]
    segments += [
        (f"Question: {question}\n{ANSWER_CUE}", False),
        (f" {answer}\n\n{END_OF_TEXT}", True),
    ]
    head = render_prompt("", context)
    head = head[: head.rindex("Question:")]
    text = head + "".join(t for t, _ in segments)
    history = [(q, a) for (q, a) in _pairs_of(segments[:-2])]
    # The example must be exactly what the assistant renders (plus the trained answer).
    assert text.startswith(render_prompt(question, context, history=history))
    spans, offset = [], len(head)
    for chunk, trained in segments:
        if trained:
            spans.append((offset, offset + len(chunk)))
        offset += len(chunk)
    return QAExample(text, tuple(spans))


def _pairs_of(segments: Sequence[tuple[str, bool]]) -> list[tuple[str, str]]:
    texts = [t for t, _ in segments]
    return [
        (q.removeprefix("Question: ").removesuffix(f"\n{ANSWER_CUE}"), a.strip())
        for q, a in zip(texts[::2], texts[1::2], strict=True)
    ]


Encoder = Callable[[str], tuple[list[int], list[tuple[int, int]]]]


def tokenize_example(
    example: QAExample, encode: Encoder, answers_only: bool = True
) -> tuple[list[int], list[int]]:
    """Token ids and labels: the loss is taken on the answers only, or on the whole text.

    The whole text is tokenized at once (as at inference) and a token is trained on when its
    characters overlap an answer span. Loss on the whole text also trains the passages (the
    documents themselves), which a model trained from scratch on little text needs.
    """
    ids, offsets = encode(example.text)
    if not answers_only:
        return ids, list(ids)
    labels = [
        token
        if any(start < end_span and end > start_span for start_span, end_span in example.spans)
        else IGNORE_INDEX
        for token, (start, end) in zip(ids, offsets, strict=True)
    ]
    return ids, labels
