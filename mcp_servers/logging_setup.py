"""Logging for the MCP servers: stderr only, because stdout carries the protocol."""

from __future__ import annotations

import logging
import sys


def configure_stderr_logging(level: str = "WARNING") -> None:
    """Send all log records to stderr (installed before the SDK can add its own handler)."""
    logging.basicConfig(
        stream=sys.stderr,
        level=level,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        force=True,
    )
