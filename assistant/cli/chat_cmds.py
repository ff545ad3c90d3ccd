"""``assistant chat``: the Textual chat app."""

from __future__ import annotations

import argparse
from typing import Any

from assistant.settings import Settings


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "chat",
        help="open the chat app (answers with sources, tools, every token's probability)",
        description="Terminal chat over the course documents. F1 or /help lists the keys.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.tui import run_chat

    return run_chat(settings)
