"""A tool call the router planned: the one record the router, the hub and the chat share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PlannedCall:
    """A tool call the router decided on, from the user's own words only."""

    server: str
    tool: str
    arguments: dict[str, Any]
    reason: str  # e.g. "/calc command", "arithmetic question"

    @property
    def name(self) -> str:
        return f"{self.server}.{self.tool}"
