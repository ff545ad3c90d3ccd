"""One-line header: model, whether it is the bundled fallback, and what the app is doing —
while the session loads, each stage (model, embedder, index, tools) with its progress and time;
after it, work that goes on in the background (an index rebuild) the same way.
"""

from __future__ import annotations

import time

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from assistant.chat.loading import LOAD_STAGES, LoadStage
from assistant.tui.answer_labels import PRECISION_NOTES
from assistant.tui.safe_text import join

_MARKS = {"done": "✓", "failed": "✗", "skipped": "–", "running": "…"}


def stage_text(
    stage: LoadStage | None, name: str, now_s: float = 0.0, *, compact: bool = False
) -> str:
    """One stage as the header shows it: "model ✓ 2.1 s", "index … 12/40 files 3.0 s",
    a bare name while waiting. ``now_s``: seconds since the stage was last heard of (a
    running stage's clock keeps going between reports). ``compact``: only a running stage
    shows its time (for a narrow terminal)."""
    if stage is None:  # not started yet
        return name
    parts = [name, _MARKS.get(stage.state, "?")]
    if stage.detail and stage.state in ("running", "failed"):
        parts.append(stage.detail)
    if stage.state == "running" or (stage.state in ("done", "failed") and not compact):
        seconds = stage.seconds + (now_s if stage.state == "running" else 0.0)
        parts.append(f"{seconds:.1f} s")
    return " ".join(parts)


def rebuild_ended(stage: LoadStage) -> tuple[str, str]:
    """The notice (text, level) for the end of a background index rebuild."""
    if stage.state == "done":
        return f"index rebuilt ({stage.detail}): answers cite sources again", "info"
    return f"rebuilding the index failed: {stage.detail}", "error"


class StatusHeader(Widget):
    model_name: reactive[str] = reactive("…")
    fallback: reactive[bool] = reactive(False)
    status: reactive[str] = reactive("starting")
    tokens_per_s: reactive[float] = reactive(0.0)
    loading_s: reactive[int] = reactive(0)  # seconds spent loading so far, shown while > 0
    precision: reactive[str] = reactive("exact")  # DecodingSettings.precision of the next turn
    remote: reactive[bool] = reactive(False)  # a model server computes the probabilities

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._stages: dict[str, tuple[LoadStage, float]] = {}  # name → (latest, heard at)
        # Stages that outlive loading (not in LOAD_STAGES), shown while they run.
        self._background: dict[str, tuple[LoadStage, float]] = {}

    def show_stage(self, stage: LoadStage) -> None:
        """Record the latest report of a loading stage (shown until clear_stages), or of a
        background one (shown until it ends)."""
        if stage.name in LOAD_STAGES:
            self._stages[stage.name] = (stage, time.monotonic())
        elif stage.state == "running":
            self._background[stage.name] = (stage, time.monotonic())
        else:
            self._background.pop(stage.name, None)
        self.refresh()

    @property
    def background_text(self) -> str:
        """The running background stages, e.g. "index rebuild … 12/40 files 3.0 s"."""
        now = time.monotonic()
        return " · ".join(
            stage_text(stage, name, now - heard_at)
            for name, (stage, heard_at) in self._background.items()
        )

    def clear_stages(self) -> None:
        self._stages.clear()
        self.refresh()

    @property
    def stages_text(self) -> str:
        """Every loading stage in order, e.g. "model ✓ 2.1 s · embedder … 0.4 s · index ·
        tools"; "" when no stage has been reported."""
        return self._stages_text(compact=False)

    def _stages_text(self, *, compact: bool) -> str:
        if not self._stages:
            return ""
        now = time.monotonic()
        shown = []
        for name in LOAD_STAGES:
            stage, heard_at = self._stages.get(name, (None, now))
            shown.append(stage_text(stage, name, now - heard_at, compact=compact))
        if self._background:
            shown.append(self.background_text)
        return " · ".join(shown)

    def render(self) -> Content:
        if self._stages:
            return self._render_loading()
        parts: list[tuple[str, str] | str] = [("Course Assistant", "bold"), "  model: "]
        parts.append((self.model_name, "bold"))
        if self.fallback:
            parts.append(("  [bundled fallback]", "reverse"))
        if self.remote:  # neither fp32 here nor int8: the server's logprobs, ungrounded
            parts.append(("  server logprobs · no grounding", "dim"))
        elif self.precision == "exact":
            parts.append(("  exact fp32", "dim"))
        else:  # a teacher must see at a glance that the probabilities are approximate
            mode = PRECISION_NOTES.get(self.precision, self.precision)
            parts.append((f"  [fast: {mode}, approx. p]", "reverse"))
        parts.append("  · ")
        parts.append((self.status, "italic"))
        if self.loading_s:
            parts.append(f" {self.loading_s} s")
        if self.tokens_per_s > 0:
            last = "" if self.status == "generating" else " (last answer)"
            parts.append(f"  {self.tokens_per_s:.1f} tok/s{last}")
        if self._background:
            parts.append(f"  · {self.background_text}")
        return join(*parts)

    def _render_loading(self) -> Content:
        """The loading stages, as much of them as fits: on a narrow terminal the stages
        that went well lose their times, then the title goes."""
        elapsed = f" {self.loading_s} s" if self.loading_s else ""
        candidates = []
        for compact, title in ((False, True), (True, True), (True, False)):
            parts: list[tuple[str, str] | str] = [("Course Assistant  · ", "bold")] if title else []
            parts += [("loading", "italic"), f"{elapsed}: {self._stages_text(compact=compact)}"]
            candidates.append(join(*parts))
        width = self.content_size.width
        return next((c for c in candidates if c.cell_length <= width), candidates[-1])
