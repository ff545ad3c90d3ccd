"""Token budgeting: which parts of a turn fit in the model's context, and what was cut.

Budget = context_length − max_new_tokens. Parts are admitted in priority order — the
question (always), tool results, passages by score, then history newest first — and every
decision is measured on the *rendered* prompt (``render_prompt`` adds headers and numbering
that the parts alone do not count). A part that does not fit whole is cut on a token
boundary with a marker; everything left out is reported with its size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from assistant.chat.cutters import CountingCutter, CountTokens, TokenCutter, TokenizerCutter
from assistant.chat.events import BudgetPart, PromptBudget
from assistant.chat.template import ContextPassage, format_passage, render_prompt
from assistant.errors import ContextLengthError

CUT_MARKER = " […]"  # appended to a passage or tool result cut at its end
LEFT_CUT_MARKER = "[…] "  # prepended to a question cut at its start
# A passage cut to fewer tokens than this says too little to be worth its header.
MIN_CUT_TOKENS = 16


@dataclass
class _Part:
    """One candidate for the prompt and, once admitted, the text it stands with there."""

    kind: str
    label: str
    full_tokens: int
    included: bool = False
    cut: bool = False
    text: str = ""  # as admitted (possibly cut)
    rank: int = 0  # passages: position by score


class _Builder:
    """Holds the admitted parts and measures the rendered prompt they make."""

    def __init__(self, question: str, count: CountTokens, budget: int) -> None:
        self.question = question
        self.count = count
        self.budget = budget
        self.tools: list[str] = []
        self.passages: list[tuple[int, ContextPassage]] = []  # (rank, passage)
        self.history: list[tuple[str, str]] = []  # newest first while building

    def ranked_passages(self) -> list[ContextPassage]:
        return [p for _, p in sorted(self.passages, key=lambda item: item[0])]

    def render(self, with_passages: bool = True) -> str:
        passages = self.ranked_passages() if with_passages else []
        return render_prompt(self.question, passages, self.tools, list(reversed(self.history)))

    def tokens(self) -> int:
        return self.count(self.render())

    def fits(self) -> bool:
        return self.tokens() <= self.budget


def _largest_fit(full: int, fits_with: Callable[[int], bool]) -> int:
    """Largest n in [0, full] with fits_with(n) (monotone); 0 if none."""
    low, high = 0, full
    while low < high:
        mid = (low + high + 1) // 2
        if fits_with(mid):
            low = mid
        else:
            high = mid - 1
    return low


def _label(text: str, width: int = 60) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= width else first[: width - 1] + "…"


def build_prompt(
    question: str,
    *,
    passages: Sequence[Any],
    tool_results: Sequence[str],
    history: Sequence[tuple[str, str]],
    count_tokens: CountTokens,
    context_length: int,
    max_new_tokens: int,
    cutter: TokenCutter | None = None,
    max_prompt_tokens: int | None = None,
    tool_results_capped: Sequence[bool] = (),
) -> tuple[str, PromptBudget]:
    """Render the largest prompt that fits, and the budget report behind it.

    ``passages`` are objects with ``source`` and ``text`` (and ``score`` — higher first —
    when known: ``assistant.rag.Passage`` or ``ContextPassage``); ``history`` holds
    (question, answer) pairs oldest first. ``cutter`` makes exact token-boundary cuts (pass
    ``TokenizerCutter(tokenizer)``); without it cuts are found with ``count_tokens`` alone.
    ``max_prompt_tokens`` caps the prompt below the context (prefill time grows with it).
    ``tool_results_capped[i]`` says tool result i was already size-capped before budgeting,
    so the report shows it as cut even when the capped copy fits.
    Raises ContextLengthError when not even a shortened question fits.
    """
    budget = context_length - max_new_tokens
    if budget <= 0:
        raise ContextLengthError(
            f"max_new_tokens {max_new_tokens} leaves no room for a prompt in the model's "
            f"context of {context_length} tokens"
        )
    if max_prompt_tokens:
        budget = min(budget, max_prompt_tokens)
    cut = cutter or CountingCutter(count_tokens)
    builder = _Builder(question.strip(), count_tokens, budget)
    parts: list[_Part] = []

    # 1. The question, always; if it alone is too long keep its end (the actual ask).
    q_part = _Part("question", "question", count_tokens(builder.question), included=True)
    parts.append(q_part)
    if not builder.fits():
        full_question = builder.question

        def question_fits(n: int) -> bool:
            builder.question = LEFT_CUT_MARKER + cut.tail(full_question, n).lstrip()
            return builder.fits()

        keep = _largest_fit(q_part.full_tokens, question_fits)
        if keep == 0:
            raise ContextLengthError(
                f"the prompt template alone does not fit in {budget} tokens "
                f"(context {context_length} − max_new_tokens {max_new_tokens}"
                + (f", capped at {max_prompt_tokens}" if max_prompt_tokens else "")
                + "); lower max_new_tokens"
            )
        question_fits(keep)
        q_part.cut = True

    # 2. Tool results, 3. passages by score: whole if they fit, else cut at the end.
    for i, result in enumerate(tool_results, start=1):
        part = _Part("tools", f"tool result {i}: {_label(result)}", count_tokens(result))
        part.cut = i <= len(tool_results_capped) and bool(tool_results_capped[i - 1])
        parts.append(part)
        _admit_cuttable(builder, part, result, cut, builder.tools.append)
    ordered = sorted(
        enumerate(passages), key=lambda item: -float(getattr(item[1], "score", 0.0) or 0.0)
    )
    for rank, (_, passage) in enumerate(ordered):
        ctx = ContextPassage(str(passage.source), str(passage.text))
        part = _Part("passage", ctx.source, count_tokens(format_passage(rank + 1, ctx)), rank=rank)
        parts.append(part)
        _admit_cuttable(builder, part, ctx.text, cut, _passage_adder(builder, rank, ctx.source))

    # 4. History, newest first, whole pairs only; once one does not fit, older ones go too.
    room = True
    for past_q, past_a in reversed(history):
        text = f"Question: {past_q.strip()}\nAnswer: {past_a.strip()}\n\n"
        part = _Part("history", _label(past_q), count_tokens(text))
        parts.append(part)
        if room:
            builder.history.append((past_q, past_a))
            if builder.fits():
                part.included, part.text = True, text
            else:
                builder.history.pop()
                room = False

    prompt = builder.render()
    prompt_tokens = count_tokens(prompt)
    if prompt_tokens > budget:  # cannot happen: every admission was measured
        raise ContextLengthError(f"prompt of {prompt_tokens} tokens exceeds budget {budget}")
    report = _report(parts, builder, prompt, prompt_tokens, context_length, max_new_tokens)
    return prompt, replace(
        report,
        max_prompt_tokens=max_prompt_tokens or None,
        passages=tuple(builder.ranked_passages()),
        prompt_without_passages=builder.render(with_passages=False),
        tool_results=tuple(builder.tools),
    )


def _admit_cuttable(
    builder: _Builder,
    part: _Part,
    text: str,
    cut: TokenCutter,
    add: Callable[[str], None],
) -> None:
    """Add ``text`` whole if it fits, else its longest head (+ marker) that fits."""
    add(text)
    if builder.fits():
        part.included, part.text = True, text
        return
    _remove_last(builder, part.kind)
    full = part.full_tokens

    def fits_with(n: int) -> bool:
        add(cut.head(text, n).rstrip() + CUT_MARKER)
        ok = builder.fits()
        _remove_last(builder, part.kind)
        return ok

    keep = _largest_fit(full, fits_with)
    if keep >= min(MIN_CUT_TOKENS, full):
        part.text = cut.head(text, keep).rstrip() + CUT_MARKER
        add(part.text)
        part.included = part.cut = True


def _passage_adder(builder: _Builder, rank: int, source: str) -> Callable[[str], None]:
    def add(text: str) -> None:
        builder.passages.append((rank, ContextPassage(source, text)))

    return add


def _remove_last(builder: _Builder, kind: str) -> None:
    if kind == "tools":
        builder.tools.pop()
    else:
        builder.passages.pop()


def _report(
    parts: list[_Part],
    builder: _Builder,
    prompt: str,
    prompt_tokens: int,
    context_length: int,
    max_new_tokens: int,
) -> PromptBudget:
    """Per-part token counts as they stand in the prompt (cut parts at their cut size);
    dropped parts at their full size. The rest of the prompt is the template's."""
    count = builder.count
    # Passages are numbered in prompt order, which skips the dropped ones.
    numbers = {
        rank: number
        for number, rank in enumerate(
            sorted(p.rank for p in parts if p.kind == "passage" and p.included), start=1
        )
    }
    out: list[BudgetPart] = []
    for part in parts:
        tokens = part.full_tokens
        if part.kind == "question":
            tokens = count(builder.question)
        elif part.included and part.kind == "passage":
            passage = ContextPassage(part.label, part.text)
            tokens = count(format_passage(numbers[part.rank], passage))
        elif part.included:
            tokens = count(part.text)
        out.append(BudgetPart(part.kind, part.label, tokens, part.included, part.cut))
    used = sum(p.tokens for p in out if p.included)
    out.append(BudgetPart("template", "headers and cues", prompt_tokens - used, True))
    return PromptBudget(
        context_length=context_length,
        max_new_tokens=max_new_tokens,
        prompt_tokens=prompt_tokens,
        parts=tuple(out),
        prompt=prompt,
    )


__all__ = [
    "CUT_MARKER",
    "LEFT_CUT_MARKER",
    "CountingCutter",
    "TokenCutter",
    "TokenizerCutter",
    "build_prompt",
]
