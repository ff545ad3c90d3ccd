"""The app's commands: one table for /slash commands, key bindings, the palette and /help."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    name: str  # "probs" → /probs, handled by AssistantApp.command_probs(arg)
    usage: str
    help: str
    key: str = ""  # key binding shown in /help ("" = none)
    arg: str = "none"  # none | optional | required


COMMANDS: tuple[Command, ...] = (
    Command("help", "/help", "list the commands and keys", "f1"),
    Command("new", "/new", "start a new conversation", "ctrl+n"),
    Command(
        "stop", "/stop", "stop the answer being generated (the partial answer is kept)", "escape"
    ),
    Command("regen", "/regen", "answer the last question again", "ctrl+r"),
    Command("history", "/history", "browse and reopen past conversations", "ctrl+o"),
    Command(
        "export", "/export [md|json]", "export this conversation to a file", "ctrl+e", "optional"
    ),
    Command("copy", "/copy", "copy the last (or focused) answer to the clipboard", "ctrl+y"),
    Command(
        "tokens",
        "/tokens [TEXT]",
        "token view of the last (or focused) answer; with TEXT: how the model tokenizes it",
        "ctrl+t",
        "optional",
    ),
    Command("settings", "/settings", "decoding settings (apply from the next turn)", "ctrl+s"),
    Command(
        "preset",
        "/preset NAME",
        "switch to a decoding preset (greedy, balanced, …)",
        "",
        "required",
    ),
    Command("probs", "/probs TEXT", "the next-token probability table for TEXT", "", "required"),
    Command(
        "compare",
        "/compare [PROMPT]",
        "the same prompt under every decoding preset",
        "",
        "optional",
    ),
    Command(
        "download",
        "/download [cancel]",
        "download the configured model (the bundled one answers meanwhile), or cancel that",
        "",
        "optional",
    ),
    Command("quit", "/quit", "leave", "ctrl+q"),
)
BY_NAME = {command.name: command for command in COMMANDS}


def parse(text: str) -> tuple[Command, str] | None:
    """``/name arg`` → (command, arg) for our own commands; None for chat text and for
    slash commands the session's router handles (``/calc``, ``/file`` …)."""
    if not text.startswith("/"):
        return None
    name, _, arg = text[1:].partition(" ")
    command = BY_NAME.get(name.strip().lower())
    return (command, arg.strip()) if command else None


def help_text() -> str:
    width = max(len(c.usage) for c in COMMANDS)
    lines = [f"{c.usage:<{width}}  {c.help}" + (f"  [{c.key}]" if c.key else "") for c in COMMANDS]
    lines += [
        "",
        "Enter sends · Ctrl+J (or Shift+Enter) newline · Ctrl+P command palette",
        "In the token view: ←/→ or click a token, type a token in the panel for its probability,",
        "pick an alternative to fork the answer from there. s switches the colouring: raw rank,",
        "or source (one colour per passage a token was copied from, another for the model's own).",
        "Enter on a copied token opens its passage at that line. Grounded answers show [n] after",
        "each sentence copied from passage n. e shows the cursor's token through each logits",
        "processor in turn (the decoding pipeline, stage by stage).",
        "l shows its logit lens (its rank layer by layer), a its attention over the text",
        "([ ] layer, , . head, m mean of the heads).",
        "Tool commands go to the tools router: " + ", ".join(tool_commands()) + ".",
    ]
    return "\n".join(lines)


# The tools router's own slash commands (assistant/tools/router.py COMMANDS; a test keeps
# the two in step), with the argument each takes. Not imported from there: the router brings
# the tools config (pydantic) onto the UI thread at start.
TOOL_COMMANDS: tuple[tuple[str, str], ...] = (
    ("/calc", "EXPR"),
    ("/files", "[GLOB]"),
    ("/read", "FILE"),
    ("/grep", "TEXT"),
    ("/tool", "SERVER.TOOL {JSON}"),
)


def tool_commands() -> tuple[str, ...]:
    return tuple(f"{name} {args}" for name, args in TOOL_COMMANDS)
