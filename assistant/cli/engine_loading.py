"""What the model commands share: the engine for the configured model, the model's
description in JSON output, TEXT arguments read from stdin, and tokens as table cells."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from assistant.cli.common import notice
from assistant.settings import Settings
from assistant.text_safety import escape_controls


def engine_for(settings: Settings, args: argparse.Namespace) -> Any:
    from assistant.core.engine_factory import REMOTE_NOTICES, engine_from_settings
    from assistant.core.models import quiet_transformers
    from assistant.core.remote_spec import is_remote_engine

    quiet_transformers()
    engine = engine_from_settings(settings)
    if getattr(args, "no_truncate", False):
        engine.truncate_prompt = False
    if engine.loaded.notice:
        notice(f"note: {engine.loaded.notice}")
    if is_remote_engine(engine):  # the chat's own notices say the rest
        notice(f"note: {REMOTE_NOTICES[1]}")
    return engine


def model_info(engine: Any) -> dict[str, Any]:
    loaded = engine.loaded
    return {
        "model": loaded.name,
        "source": loaded.source,
        "fallback": loaded.is_fallback,
        "bundled": loaded.is_bundled,
        "notice": loaded.notice,
        "quantized": loaded.quantized,
        "context_length": engine.context_length,
    }


def text_arg(value: str) -> str:
    """``-`` reads the text from stdin, so long prompts need no shell quoting."""
    return sys.stdin.read() if value == "-" else value


def shown(text: str) -> str:
    """A token as a table cell: newlines, tabs and control characters made visible."""
    return escape_controls(text, keep="")
