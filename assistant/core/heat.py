"""Shades for a heat strip of attention weights; plain arithmetic (no torch), so the CLI
and the TUI draw the same colours without loading the model code."""

from __future__ import annotations

from collections.abc import Sequence


def heat(row: Sequence[float]) -> list[float]:
    """Each weight relative to the row's largest (0 … 1): the shade a heat strip draws, so
    the strongest link is always the brightest whatever the row's spread."""
    top = max(row, default=0.0)
    return [w / top if top > 0 else 0.0 for w in row]


def heat_rgb(fraction: float) -> tuple[int, int, int]:
    """Background colour for a shade: dark blue-grey (nothing) to bright orange (the most)."""
    f = min(1.0, max(0.0, fraction))
    low, high = (38, 40, 52), (255, 150, 20)
    red, green, blue = (round(a + (b - a) * f) for a, b in zip(low, high, strict=True))
    return red, green, blue
