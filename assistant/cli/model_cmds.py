"""Model commands: probs, generate, score, models (filled in with the engine)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # noqa: ARG001
    return None
