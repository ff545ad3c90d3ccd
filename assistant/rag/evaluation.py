"""Retrieval quality on a question file: recall@1, recall@k and MRR per mode, plus misses.

A question file holds one JSON object per line: ``{"question", "source", "answer"}``. A
passage is a hit when its path ends with ``source`` and its text contains ``answer``.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import DataError
from assistant.rag.retriever import Mode, Passage, Retriever


@dataclass(frozen=True)
class Question:
    question: str
    source: str
    answer: str


@dataclass
class ModeResult:
    mode: str
    k: int
    recall_at_1: float = 0.0
    recall_at_k: float = 0.0
    mrr: float = 0.0
    misses: list[dict[str, Any]] = field(default_factory=list)


def load_questions(path: Path) -> list[Question]:
    questions: list[Question] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read questions file {path}: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            questions.append(Question(str(obj["question"]), str(obj["source"]), str(obj["answer"])))
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(
                f"{path}:{number}: expected {{question, source, answer}}: {exc}"
            ) from exc
    if not questions:
        raise DataError(f"no questions in {path}")
    return questions


def _norm(text: str) -> str:
    # Chunk text keeps line breaks; answers are written on one line.
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def is_hit(passage: Passage, question: Question) -> bool:
    return passage.path.endswith(question.source) and _norm(question.answer) in _norm(passage.text)


def question_ranks(
    retriever: Retriever,
    questions: list[Question],
    *,
    k: int = 5,
    modes: tuple[Mode, ...] | None = None,
) -> dict[str, list[tuple[int | None, list[Passage]]]]:
    """Per mode (default: every mode the retriever answers), for each question: the rank of
    its first hit within the top ``k`` (None when none) and the passages returned. Recall at
    any k' <= k follows from the ranks."""
    modes = retriever.available_modes() if modes is None else modes
    ranks: dict[str, list[tuple[int | None, list[Passage]]]] = {mode: [] for mode in modes}
    for q in questions:
        for mode in modes:
            passages = retriever.search(q.question, k=k, mode=mode)
            rank = next((i for i, p in enumerate(passages, start=1) if is_hit(p, q)), None)
            ranks[mode].append((rank, passages))
    return ranks


def evaluate(
    retriever: Retriever,
    questions: list[Question],
    *,
    k: int = 5,
    modes: tuple[Mode, ...] | None = None,
) -> dict[str, ModeResult]:
    modes = retriever.available_modes() if modes is None else modes
    results: dict[str, ModeResult] = {mode: ModeResult(mode, k) for mode in modes}
    for mode, found in question_ranks(retriever, questions, k=k, modes=modes).items():
        res = results[mode]
        for q, (rank, passages) in zip(questions, found, strict=True):
            if rank is None:
                res.misses.append(
                    {
                        "question": q.question,
                        "source": q.source,
                        "answer": q.answer,
                        "got": [p.source for p in passages[:3]],
                    }
                )
                continue
            res.recall_at_1 += rank == 1
            res.recall_at_k += 1
            res.mrr += 1.0 / rank
    n = len(questions)
    for res in results.values():
        res.recall_at_1 /= n
        res.recall_at_k /= n
        res.mrr /= n
    return results
