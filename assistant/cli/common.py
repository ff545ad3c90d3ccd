"""Helpers shared by the command modules: settings from flags, JSON output, notices."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from assistant.settings import Settings, load_settings


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Build the one Settings object; flags named like Settings fields override it."""
    overrides: dict[str, Any] = {}
    if getattr(args, "model", None):
        overrides["model"] = args.model
    if getattr(args, "threads", None) is not None:
        overrides["torch_threads"] = args.threads
    for name in ("index_dir", "quantize", "embed_model"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    config = getattr(args, "config", None)
    return load_settings(overrides, config_file=Path(config) if config else None)


def emit_json(data: Any) -> None:
    """Print exactly one JSON document on stdout."""
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    sys.stdout.flush()


def notice(message: str) -> None:
    """A one-line remark for the human (stderr, so --json output stays clean)."""
    print(message, file=sys.stderr, flush=True)
