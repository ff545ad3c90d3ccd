"""``assistant ask``: one non-interactive chat turn (text or one JSON document)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from assistant.chat.citations import Citer, cite
from assistant.chat.events import (
    Notice,
    PassagesRetrieved,
    PlannedCall,
    PromptBudget,
    RouteDecided,
    TokenGenerated,
    ToolCallFinished,
    TurnDone,
    TurnError,
)
from assistant.cli.common import emit_json, notice
from assistant.cli.decoding_flags import add_decoding_flags, decoding_from_args
from assistant.settings import Settings
from assistant.text_safety import escape_controls as _safe

if TYPE_CHECKING:
    from assistant.chat.session import ChatSession


def _approver(yes: bool) -> Any:
    """--yes approves every tool; otherwise a tool that needs approval is denied, saying so
    (ask is non-interactive: it cannot ask)."""

    def approve(call: PlannedCall) -> bool:
        if yes:
            return True
        notice(f"note: {call.name} needs approval; denied (run with --yes to allow it)")
        return False

    return approve


def _k(value: str) -> int:
    k = int(value)
    if not 0 <= k <= 50:
        raise argparse.ArgumentTypeError("must be between 0 and 50")
    return k


def _tokens(value: str) -> int:
    n = int(value)
    if n < 0:
        raise argparse.ArgumentTypeError("must be ≥ 0 (0 = fill the context)")
    return n


def _model_dict(session: ChatSession) -> dict[str, Any] | None:
    info = session.model_info()
    return info.to_dict() if info is not None else None


def _show_text(event: Any, json_mode: bool, citer: Citer) -> None:
    """Human output: tool results verbatim, the answer as it streams with the [n] of the
    passage each copied sentence came from; the rest on stderr."""
    if isinstance(event, Notice):
        notice(f"{event.level}: {_safe(event.text)}")
    elif json_mode:
        return
    elif isinstance(event, RouteDecided) and event.calls:
        notice(f"tools: {event.explanation}")
    elif isinstance(event, ToolCallFinished):
        status = "" if event.ok else " (failed)"
        print(f"[{event.call.name}{status}]\n{_safe(event.text.rstrip())}\n", flush=True)
    elif isinstance(event, TokenGenerated):
        sys.stdout.write(_safe(citer.push(event.step)))
        sys.stdout.flush()
    elif isinstance(event, TurnDone):
        sys.stdout.write(citer.finish())


def _print_dry_run(record: Any, route: RouteDecided | None, budget: PromptBudget) -> None:
    print("# planned tool calls (not executed)")
    for call in route.calls if route else ():
        print(f"- {call.name} {call.arguments} ({call.reason})")
    if route and not route.calls:
        print(f"- none: {route.explanation}")
    print("\n# passages")
    for source in record.sources():
        state = "cut" if source["cut"] else "included" if source["included"] else "dropped"
        print(f"- {source['source']} score {source.get('score', 0):.4f} ({state})")
    _print_budget(budget)
    print("\n# prompt\n" + _safe(budget.prompt))


def _print_budget(budget: PromptBudget) -> None:
    print(
        f"\n# budget: {budget.prompt_tokens} of {budget.available} tokens "
        f"(context {budget.context_length} − max_new_tokens {budget.max_new_tokens})"
    )
    for part in budget.parts:
        state = "cut" if part.cut else "included" if part.included else "dropped"
        print(f"- {part.kind:<8} {part.tokens:>5} tokens  {state:<8} {part.label}")


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.chat.default_decoding import default_decoding_fields
    from assistant.chat.session import ChatSession
    from assistant.chat.turn_record import budget_dict
    from assistant.core.models import quiet_transformers

    quiet_transformers()  # no progress bars from model or embedder loading
    decoding = decoding_from_args(args, **default_decoding_fields())  # the chat's defaults
    if args.max_prompt_tokens is not None:
        settings = settings.model_copy(update={"max_prompt_tokens": args.max_prompt_tokens})
    session = ChatSession(settings, approve=_approver(args.yes))
    route: RouteDecided | None = None
    budget: PromptBudget | None = None
    done: TurnDone | None = None
    error: TurnError | None = None
    passages: tuple[Any, ...] = ()
    notices: list[dict[str, str]] = []
    citer = Citer()
    try:
        for event in session.turn(
            args.question,
            decoding=decoding,
            use_tools=not args.no_tools,
            use_rag=not args.no_rag,
            k=args.k,
            dry_run=args.dry_run,
        ):
            _show_text(event, args.json, citer)
            if isinstance(event, Notice):
                notices.append(asdict(event))
            elif isinstance(event, RouteDecided):
                route = event
            elif isinstance(event, PassagesRetrieved):
                passages = event.passages
            elif isinstance(event, PromptBudget):
                budget = event
            elif isinstance(event, TurnDone):
                done = event
            elif isinstance(event, TurnError):
                error = event
        record = session.last_turn
        assert record is not None
        if error is not None and not args.json:
            print(f"error: {error.stage}: {error.message}", file=sys.stderr)
            return 1
        if args.json:
            cited, citations = cite(record.steps)
            data: dict[str, Any] = {
                "question": args.question,
                "dry_run": args.dry_run,
                "answer": record.answer,
                "cited_answer": cited,
                "citations": [asdict(c) for c in citations],
                "finish_reason": done.finish_reason if done and not args.dry_run else None,
                "tokens": [step.to_dict() for step in record.steps],
                "route": {
                    "calls": [asdict(c) | {"name": c.name} for c in route.calls] if route else [],
                    "explanation": route.explanation if route else "",
                },
                "tool_calls": record.tool_calls,
                "sources": record.sources() if passages else [],
                "budget": budget_dict(budget),
                "prompt": budget.prompt if budget else None,
                "decoding": record.decoding.to_dict(),
                "model": _model_dict(session) if error is None else None,
                "timing": done.timing if done else dict(record.timing),
                "conversation_id": session.conversation_id,
                "message_id": done.message_id if done else None,
                "notices": notices,
                "error": asdict(error) if error else None,
            }
            emit_json(data)
            return 1 if error else 0
        if args.dry_run and budget is not None:
            _print_dry_run(record, route, budget)
            return 0
        sys.stdout.write("\n")
        _print_sources(record)
        if done is not None:
            ttft = done.timing.get("ttft")
            notice(
                f"[{len(record.steps)} tokens, finish: {done.finish_reason}"
                + (f", first token after {ttft:.2f} s" if ttft is not None else "")
                + "]"
            )
        return 0
    finally:
        session.close()


def _print_sources(record: Any) -> None:
    used = [s for s in record.sources() if s["included"]]
    if used:
        print("\nSources:")
        for number, source in enumerate(used, start=1):
            print(f"  [{number}] {source['source']}" + (" (cut)" if source["cut"] else ""))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ask", help="one question, answered from the documents and tools")
    p.add_argument("question", help="the question (or a /command such as /calc 2^20)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--no-tools", action="store_true", help="do not route to any tool")
    p.add_argument("--no-rag", action="store_true", help="do not retrieve passages")
    p.add_argument("--k", type=_k, default=4, help="passages to retrieve (default 4)")
    p.add_argument("--yes", action="store_true", help="approve every tool call")
    p.add_argument(
        "--max-prompt-tokens",
        type=_tokens,
        help="cap the prompt below the model's context: a shorter prompt, a sooner first token",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="show planned tool calls, passages, the exact prompt and budget; run nothing",
    )
    add_decoding_flags(p)
    p.set_defaults(func=cmd_ask)
