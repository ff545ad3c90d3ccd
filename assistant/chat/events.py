"""Events one chat turn yields, in order. Plain frozen dataclasses: the TUI and the CLI
render them; nothing here knows about either.

A turn yields: Notice* → RouteDecided → (ToolCallStarted → ToolCallFinished)* →
PassagesRetrieved → PromptBudget → TokenGenerated* → TurnDone, or TurnError at any point
(after which the turn is over and the session is still usable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assistant.chat.template import ContextPassage
from assistant.core.decoding import DecodingSettings
from assistant.core.types import FinishReason, TokenStep
from assistant.tools.plan import PlannedCall  # lives with the router; events carry it


@dataclass(frozen=True)
class Notice:
    """Something the user should know: fallback model in use, empty index, server down."""

    text: str
    level: str = "info"  # info | warning | error


@dataclass(frozen=True)
class RouteDecided:
    calls: tuple[PlannedCall, ...]
    explanation: str  # one line: why these tools (or none)


@dataclass(frozen=True)
class ToolCallStarted:
    call_id: str
    call: PlannedCall


@dataclass(frozen=True)
class ToolCallFinished:
    call_id: str
    call: PlannedCall
    ok: bool
    text: str  # the result (or error message) as shown to the user, verbatim
    duration_s: float
    structured: dict[str, Any] | None = None
    approved: bool = True  # False when the user denied it
    truncated: bool = False  # the prompt copy was size-capped


@dataclass(frozen=True)
class PassagesRetrieved:
    passages: tuple[Any, ...]  # assistant.rag.Passage


@dataclass(frozen=True)
class BudgetPart:
    kind: str  # question | tools | passage | history | template
    label: str  # e.g. "corpus/decoding.md:10-30"
    tokens: int
    included: bool
    cut: bool = False  # included but shortened on a token boundary


@dataclass(frozen=True)
class PromptBudget:
    context_length: int
    max_new_tokens: int
    prompt_tokens: int
    parts: tuple[BudgetPart, ...]
    prompt: str = ""
    # A cap below the context (Settings.max_prompt_tokens): shorter prompts, a sooner first
    # token. None = the prompt may fill the context.
    max_prompt_tokens: int | None = None
    # The passages as the prompt shows them (possibly cut), numbered from 1 in this order,
    # and the same prompt without them (context-aware decoding's "question only" side).
    passages: tuple[ContextPassage, ...] = ()
    prompt_without_passages: str = ""
    # The tool results as the prompt shows them (possibly cut), in prompt order.
    tool_results: tuple[str, ...] = ()

    @property
    def available(self) -> int:
        room = self.context_length - self.max_new_tokens
        return min(room, self.max_prompt_tokens) if self.max_prompt_tokens else room

    @property
    def dropped(self) -> tuple[BudgetPart, ...]:
        return tuple(p for p in self.parts if not p.included)


@dataclass(frozen=True)
class TokenGenerated:
    step: TokenStep


@dataclass(frozen=True)
class TurnDone:
    message_id: int | None
    text: str
    finish_reason: FinishReason
    timing: dict[str, float] = field(default_factory=dict)  # stage → seconds, incl. ttft
    # A dry run generated and stored nothing (message_id None, text "").
    dry_run: bool = False
    # What the answer ran with (the seed a sample got; no grounding with a model server).
    decoding: DecodingSettings | None = None


@dataclass(frozen=True)
class TurnError:
    stage: str  # routing | tools | retrieval | prompt | generation
    message: str


ChatEvent = (
    Notice
    | RouteDecided
    | ToolCallStarted
    | ToolCallFinished
    | PassagesRetrieved
    | PromptBudget
    | TokenGenerated
    | TurnDone
    | TurnError
)
