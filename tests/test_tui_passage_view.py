"""The sources list names passages as cited (``docs/FILE:START-END``), and Enter on one opens
the passage view at the cited lines inside their document (Pilot, real Passage objects)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from assistant.rag.retriever import Passage
from assistant.tui.passage_context import MAX_FILE_BYTES, passage_context
from assistant.tui.screens.passage import PassageScreen
from assistant.tui.widgets.sources import SourceItem, SourcesList
from tests.test_tui_chat import wait_until

LINES = [f"Filler line {n} about nothing in particular." for n in range(1, 61)]
LINES[39:41] = ["Beam search keeps the best partial sequences", "at every step of decoding."]


def _document(tmp_path: Path) -> Path:
    path = tmp_path / "docs" / "decoding.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


def _passage(path: Path, text: str = "\n".join(LINES[39:41])) -> Passage:
    return Passage(str(path), 40, 41, None, text, 0.9, 0.8, 3.0, 7, name="docs/decoding.md")


def test_context_only_while_the_file_still_reads_the_passage(tmp_path: Path) -> None:
    path = _document(tmp_path)
    context = passage_context(str(path), 40, 41, "\n".join(LINES[39:41]))
    assert context is not None and context.first_line == 1
    assert context.before.split("\n") == LINES[:39] and context.after.split("\n") == LINES[41:]
    assert passage_context(str(path), 40, 41, "the passage as it was indexed") is None
    assert passage_context(str(path), 60, 70, LINES[59]) is None  # past the end
    assert passage_context(str(tmp_path / "gone.md"), 1, 1, "x") is None
    path.write_bytes(b"x\n" * (MAX_FILE_BYTES // 2 + 1))
    assert passage_context(str(path), 1, 1, "x") is None  # too big to read for a view


class _Sources(App[None]):
    def __init__(self, passages: tuple[Passage, ...]) -> None:
        super().__init__()
        self.passages = passages

    def compose(self) -> ComposeResult:
        yield SourcesList(self.passages)


@pytest.mark.asyncio
async def test_sources_list_cites_relative_and_opens_at_the_cited_lines(tmp_path: Path) -> None:
    path = _document(tmp_path)
    app = _Sources((_passage(path),))
    async with app.run_test(size=(100, 20)) as pilot:
        item = app.query_one(SourceItem)
        label = str(item.render())
        assert (
            label.startswith("[1] docs/decoding.md:40-41  score 0.900") and str(path) not in label
        )
        item.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(app.screen.query("#passage-text")))
        screen = app.screen
        assert isinstance(screen, PassageScreen)
        box = screen.query_one("#passage-box")
        assert box.border_title == "docs/decoding.md:40-41"
        assert box.border_subtitle == "lines 40-41 · Esc closes"
        cited = screen.query_one("#passage-text")
        assert cited.has_class("-cited") and "Beam search keeps" in str(cited.render())
        before, after = screen.query(".passage-context")
        assert "Filler line 39" in str(before.render()) and "Filler line 42" in str(after.render())
        # opened at the cited lines: scrolled down to them, not at the file's first line
        await wait_until(pilot, lambda: box.scroll_y > 0)
        assert box.scroll_y <= cited.virtual_region.y


@pytest.mark.asyncio
async def test_an_edited_file_shows_the_indexed_passage_alone(tmp_path: Path) -> None:
    path = _document(tmp_path)
    app = _Sources((_passage(path, text="What the index held before an edit."),))
    async with app.run_test(size=(100, 20)) as pilot:
        app.push_screen(PassageScreen(app.passages[0]))
        await wait_until(pilot, lambda: bool(app.screen.query("#passage-text")))
        assert not app.screen.query(".passage-context")
        text = app.screen.query_one("#passage-text")
        assert str(text.render()) == "What the index held before an edit."
        assert not text.has_class("-cited")
