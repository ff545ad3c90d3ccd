"""``assistant history list|show ID|export ID --format md|json|search TEXT``."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from assistant.chat.history import HistoryStore
from assistant.cli.common import emit_json
from assistant.settings import Settings


def _store(settings: Settings) -> HistoryStore:
    return HistoryStore(settings.history_db)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    conversations = _store(settings).list_conversations()
    if args.json:
        emit_json([asdict(c) for c in conversations])
        return 0
    for c in conversations:
        print(f"{c.id:>5}  {c.created}  {c.message_count:>3} messages  {c.title}")
    if not conversations:
        print("no conversations yet")
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(settings)
    if args.json:
        emit_json(store.export_json(args.id))
    else:
        print(store.export_markdown(args.id), end="")
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    store = _store(settings)
    if args.format == "json":
        text = json.dumps(store.export_json(args.id), ensure_ascii=False, indent=2) + "\n"
    else:
        text = store.export_markdown(args.id)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        print(text, end="")
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    hits = _store(settings).search(args.text)
    if args.json:
        emit_json([asdict(h) for h in hits])
        return 0
    for h in hits:
        print(f"{h.conversation_id:>5}  {h.role:<9}  {h.conversation_title}: {h.snippet}")
    if not hits:
        print("no matches")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="past conversations: list, show, export, search")
    actions = p.add_subparsers(dest="history_command", metavar="ACTION", required=True)
    a = actions.add_parser("list", help="conversations, newest first")
    a.add_argument("--json", action="store_true", help="print one JSON document")
    a.set_defaults(func=cmd_list)
    a = actions.add_parser("show", help="one conversation as Markdown (or --json)")
    a.add_argument("id", type=int)
    a.add_argument("--json", action="store_true", help="everything, per-token probabilities too")
    a.set_defaults(func=cmd_show)
    a = actions.add_parser("export", help="write a conversation as Markdown or JSON")
    a.add_argument("id", type=int)
    a.add_argument("--format", choices=["md", "json"], default="md")
    a.add_argument("--output", "-o", help="file to write (default: stdout)")
    a.set_defaults(func=cmd_export)
    a = actions.add_parser("search", help="full-text search over every message")
    a.add_argument("text")
    a.add_argument("--json", action="store_true", help="print one JSON document")
    a.set_defaults(func=cmd_search)
