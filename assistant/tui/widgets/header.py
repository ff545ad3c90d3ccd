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
    loading_s: reactive[int] = reactive(0)  # seconds spent loading so far, shown while > 0

    def render(self) -> Content:
        parts: list[tuple[str, str] | str] = [("Course Assistant", "bold"), "  model: "]
        parts.append((self.model_name, "bold"))
        if self.fallback:
            parts.append(("  [bundled fallback]", "reverse"))
        parts.append("  · ")
        parts.append((self.status, "italic"))
        if self.loading_s:
            parts.append(f" {self.loading_s} s")
        if self.tokens_per_s > 0:
            last = "" if self.status == "generating" else " (last answer)"
            parts.append(f"  {self.tokens_per_s:.1f} tok/s{last}")
        return join(*parts)
