"""A turn's tool results are grounding sources too: they outrank the passages (an answer to
"what is 2^100 / 7" copies the calculator's line, not a passage sentence about logits), carry
no passage number, and are never cited as a passage."""

from __future__ import annotations

import pytest

from assistant.chat.citations import cite
from assistant.chat.events import BudgetPart, PromptBudget
from assistant.chat.grounding import grounding_input
from assistant.chat.template import ContextPassage
from assistant.core.decoding import DecodingSettings
from assistant.core.engine import Engine
from assistant.core.grounding import CopyIndex, PassageCopyProcessor
from assistant.core.grounding_input import GroundingInput, SourceText
from assistant.tui.provenance_view import TOOL_CLASS, copied_from, source_class
from tests.test_grounding import WordTokenizer, copy_probs, step

RESULT = "2 ** 100 / 7 = 1267650600228229401496703205376/7 ≈ 1.81092942889747e+29"
PASSAGE = "The logit of mat is positive, so it is divided by the penalty. Logits are scores."


def test_a_tool_result_outranks_every_passage_sentence() -> None:
    tok = WordTokenizer()
    question = "what does the logit of mat give, and 2 ** 100 / 7?"
    tool = GroundingInput(
        question,
        (SourceText("notes.md:1-1", PASSAGE), SourceText("tool result 1", RESULT, tool=True)),
    )
    proc = PassageCopyProcessor(CopyIndex.build(tok, tool), prompt_length=1, strength=0.9)
    step(proc, [])
    votes = copy_probs(proc)
    # The passage sentence matches the question's words best, the tool result still leads.
    assert votes[tok.id("2")] > 100 * votes[tok.id("The")]


@pytest.fixture(scope="module")
def bundled() -> Engine:
    return Engine.load("bundled", allow_fallback=False, threads=1)


def test_the_answer_copies_the_tool_result_and_cites_no_passage(bundled: Engine) -> None:
    prompt = (
        f"Context:\n[1] (notes.md:1-1)\n{PASSAGE}\n\nTool results:\n{RESULT}\n\n"
        "Question: what is 2^100 / 7?\nAnswer:"
    )
    grounding = GroundingInput(
        "what is 2^100 / 7?",
        (SourceText("notes.md:1-1", PASSAGE), SourceText("tool result 1", RESULT, tool=True)),
    )
    settings = DecodingSettings(max_new_tokens=48, grounding="copy")
    out = bundled.generate(prompt, settings, grounding=grounding)
    assert out.text.strip().startswith("2 ** 100 / 7 = 1267650600228229401496703205376/7")
    copied = [s.provenance for s in out.steps if s.provenance is not None and s.provenance.copied]
    assert copied and copied[0].passage is None and copied[0].source == "tool result 1"
    cited, citations = cite(out.steps)
    assert "[1]" not in cited.split("1.81092942889747e+29")[0] and not [
        c for c in citations if c.sentence.startswith("2 **")
    ]
    first = next(s for s in out.steps if s.provenance is not None and s.provenance.copied)
    assert source_class(first) == TOOL_CLASS
    assert copied_from(first.provenance) == "copied from tool result 1"  # type: ignore[arg-type]


def _budget(passages: tuple[ContextPassage, ...], tools: tuple[str, ...]) -> PromptBudget:
    return PromptBudget(
        context_length=1024,
        max_new_tokens=96,
        prompt_tokens=10,
        parts=(BudgetPart("question", "question", 5, True, False),),
        passages=passages,
        tool_results=tools,
    )


def test_the_chat_grounds_on_passages_then_tool_results() -> None:
    passages = (ContextPassage("corpus/a.md:1-2", "A passage. It says things."),)
    found = grounding_input("q", _budget(passages, (RESULT, "  ")))
    assert found is not None
    assert [(s.label, s.tool) for s in found.sources] == [
        ("corpus/a.md:1-2", False),
        ("tool result 1", True),
    ]
    only_tool = grounding_input("q", _budget((), (RESULT,)))
    assert only_tool is not None and [s.tool for s in only_tool.sources] == [True]
    assert grounding_input("q", _budget((), ())) is None


def test_the_prompt_budget_reports_the_tool_results_it_shows() -> None:
    from assistant.chat.prompt import build_prompt

    _, budget = build_prompt(
        "what is 2^100 / 7?",
        passages=[],
        tool_results=[RESULT],
        history=[],
        count_tokens=lambda text: len(text.split()),
        context_length=1024,
        max_new_tokens=96,
    )
    assert budget.tool_results == (RESULT,)
