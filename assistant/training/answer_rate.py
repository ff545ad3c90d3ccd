"""Answer rate: does the model answer from the right passage when it is given that passage?

For each line of QUESTIONS.jsonl ({"question", "source", "answer"}), the gold passage is the
paragraph of the source file that contains the answer phrase (case-insensitive). The prompt is
``render_prompt(question, [gold passage])``; greedy decoding writes up to ``max_new_tokens``
tokens, cut at the first stop string; the answer counts when it contains the answer phrase.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from assistant.chat.template import STOP_STRINGS, ContextPassage, render_prompt
from assistant.errors import DataError


@dataclass(frozen=True)
class Question:
    question: str
    source: str
    answer: str


@dataclass(frozen=True)
class Outcome:
    question: str
    answer: str
    generated: str
    correct: bool
    passage_found: bool


def load_questions(path: Path) -> list[Question]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [Question(**json.loads(line)) for line in lines if line.strip()]
    except (OSError, ValueError, TypeError) as exc:
        raise DataError(f"cannot read questions from {path}: {exc}") from exc


def _paragraphs_with_lines(text: str) -> Iterator[tuple[int, int, str]]:
    lines = text.split("\n")
    start = None
    for number, line in enumerate([*lines, ""], start=1):
        if line.strip() and start is None:
            start = number
        elif not line.strip() and start is not None:
            yield start, number - 1, "\n".join(lines[start - 1 : number - 1])
            start = None


def gold_passage(question: Question, corpus_dir: Path) -> ContextPassage | None:
    """The paragraph of the question's source file holding the answer phrase, if any; a
    heading that holds it ("## Teacher forcing") is not a passage that answers, so the first
    body paragraph holding it wins over it."""
    path = corpus_dir / question.source
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    phrase = question.answer.lower()
    found = [
        (first, last, paragraph)
        for first, last, paragraph in _paragraphs_with_lines(text)
        if phrase in " ".join(paragraph.split()).lower()
    ]
    body = [f for f in found if not f[2].lstrip().startswith("#")]
    for first, last, paragraph in body[:1] or found[:1]:
        return ContextPassage(f"{corpus_dir.name}/{question.source}:{first}-{last}", paragraph)
    return None


def cut_at_stop(text: str) -> str:
    ends = [i for i in (text.find(s) for s in STOP_STRINGS) if i >= 0]
    return text[: min(ends)] if ends else text


@torch.no_grad()
def evaluate(
    model_dir: str, questions_file: Path, corpus_dir: Path, max_new_tokens: int = 48
) -> dict[str, Any]:
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    started = time.monotonic()
    outcomes = []
    for q in load_questions(questions_file):
        passage = gold_passage(q, corpus_dir)
        prompt = render_prompt(q.question, [passage] if passage else [])
        ids = tokenizer(prompt, return_tensors="pt").input_ids
        out = model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            stop_strings=list(STOP_STRINGS),
            tokenizer=tokenizer,
            pad_token_id=tokenizer.eos_token_id,
        )
        text = cut_at_stop(str(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=False)))
        correct = q.answer.lower() in " ".join(text.split()).lower()
        outcomes.append(Outcome(q.question, q.answer, text.strip(), correct, passage is not None))
    n = len(outcomes)
    hits = sum(o.correct for o in outcomes)
    return {
        "model": model_dir,
        "questions": n,
        "gold_passage_found": sum(o.passage_found for o in outcomes),
        "answer_rate": round(hits / n, 4) if n else 0.0,
        "answers_containing_phrase": hits,
        "max_new_tokens": max_new_tokens,
        "seconds": round(time.monotonic() - started, 1),
        "outcomes": [asdict(o) for o in outcomes],
    }
