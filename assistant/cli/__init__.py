"""The ``assistant`` console script: argument parsing → Settings → calls into the packages.

Each command group lives in its own module exposing ``register(subparsers)``; handlers take
``(args, settings)`` and return an exit code. Expected errors are translated here, once.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from assistant.cli import (
    ask_cmds,
    chat_cmds,
    history_cmds,
    index_cmds,
    lens_cmds,
    model_cmds,
    tools_cmds,
    train_cmds,
)
from assistant.cli.common import settings_from_args
from assistant.cli.library_warnings import route_library_warnings
from assistant.errors import AssistantError

# Command-group modules, in the order they appear in --help.
COMMAND_MODULES = [
    chat_cmds,
    ask_cmds,
    history_cmds,
    model_cmds,
    lens_cmds,
    index_cmds,
    train_cmds,
    tools_cmds,
]


def add_global_options(parser: argparse.ArgumentParser, default: object) -> None:
    group = parser.add_argument_group("global options")
    # A command may have its own --model (score takes it several times): argparse refuses
    # the second definition, and the command's stays.
    with contextlib.suppress(argparse.ArgumentError):
        group.add_argument("--model", default=default, help="HF id, preset name or local directory")
    # `models --download NAME` names the model to fetch; elsewhere the flag is a yes.
    with contextlib.suppress(argparse.ArgumentError):
        group.add_argument(
            "--download",
            action="store_true",
            default=default,
            help="download the configured model first if it is not cached yet",
        )
    group.add_argument("--threads", type=int, default=default, help="torch threads (0 = auto)")
    group.add_argument(
        "--config", default=default, help="config.toml to use instead of the default"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Course Assistant: answers about course documents, tools over MCP, "
        "and every token's probability.",
    )
    add_global_options(parser, None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    # Global options are accepted after the command too ("assistant probs TEXT --model X").
    for subparser in sub.choices.values():
        add_global_options(subparser, argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        settings = settings_from_args(args)
        route_library_warnings(settings.log_dir)
        if settings.offline:  # before huggingface_hub is imported: it reads this once
            os.environ["HF_HUB_OFFLINE"] = "1"
        if getattr(args, "download", None) is True:
            from assistant.cli.model_fetch import fetch_model

            fetch_model(settings.model)
        return int(args.func(args, settings) or 0)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
