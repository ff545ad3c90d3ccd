"""One-line header: model, whether it is the bundled fallback, and what the app is doing."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from assistant.tui.safe_text import join


class StatusHeader(Widget):
    model_name: reactive[str] = reactive("…")
    fallback: reactive[bool] = reactive(False)
    status: reactive[str] = reactive("starting")
    tokens_per_s: reactive[float] = reactive(0.0)

    def render(self) -> Content:
        parts: list[tuple[str, str] | str] = [("Course Assistant", "bold"), "  model: "]
        parts.append((self.model_name, "bold"))
        if self.fallback:
            parts.append(("  [bundled fallback]", "reverse"))
        parts.append("  · ")
        parts.append((self.status, "italic"))
        if self.status == "generating" and self.tokens_per_s > 0:
            parts.append(f"  {self.tokens_per_s:.1f} tok/s")
        return join(*parts)
