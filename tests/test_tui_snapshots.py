"""Snapshot tests (pytest-textual-snapshot) of the main screen, the token view (by rank, and a
grounded answer by source) and the decoding settings, over the scripted session at a fixed
terminal size.

Update after a deliberate change with ``pytest tests/test_tui_snapshots.py --snapshot-update``
and look at the SVGs in tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.test_tui_chat import answered, make_app, send, wait_until

SIZE = (120, 44)


async def steady(pilot: Pilot[Any]) -> None:
    """Stop cursor blinking (a timer: the cursor's phase would differ between runs)."""
    for screen in pilot.app.screen_stack:
        for widget in screen.query("Input, TextArea"):
            widget.cursor_blink = False  # type: ignore[attr-defined]
    await pilot.pause()


async def _answer(pilot: Pilot[Any]) -> None:
    await send(pilot, "what does greedy decoding do?")
    await answered(pilot)
    pilot.app.header.tokens_per_s = 0  # type: ignore[attr-defined]  (a timing: not stable)
    await steady(pilot)


def test_main_screen(snap_compare: Any, tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    assert snap_compare(app, terminal_size=SIZE, run_before=_answer)


def test_token_view_with_cursor(snap_compare: Any, tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _answer(pilot)
        await pilot.press("ctrl+t", "right", "right", "right", "right", "right")
        await wait_until(pilot, lambda: app.token_panel.has_class("-shown"))
        await steady(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_grounded_token_view_in_source_colouring(snap_compare: Any, tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)

    async def run_before(pilot: Pilot[Any]) -> None:
        await send(pilot, "ground this answer")
        await answered(pilot)
        pilot.app.header.tokens_per_s = 0  # type: ignore[attr-defined]
        await pilot.press("ctrl+t", "s", "right")
        panel = app.token_panel
        await wait_until(
            pilot, lambda: "token 2:" in str(panel.query_one("#token-chosen").render())
        )
        await wait_until(
            pilot, lambda: "copied from" in str(panel.query_one("#token-legend").render())
        )
        await steady(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_settings_with_a_validation_message(snap_compare: Any, tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)

    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, app.loaded.is_set)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "SettingsScreen")
        app.screen.query_one("#field-top_p").value = "1.5"  # type: ignore[attr-defined]
        await pilot.click("#apply")
        # The error shows at once; the Button's 0.2 s press effect may or may not have ended
        # when the picture is taken: wait for it, or the button's colour depends on speed.
        field = app.screen.query_one("#field-top_p")
        await wait_until(pilot, lambda: field.has_class("-invalid"))
        await wait_until(pilot, lambda: not app.screen.query_one("#apply").has_class("-active"))
        await steady(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_settings_grounding_fields_with_a_validation_message(
    snap_compare: Any, tmp_path: Path
) -> None:
    app, _ = make_app(tmp_path)

    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, app.loaded.is_set)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "SettingsScreen")
        screen = app.screen
        screen.query_one("#field-strategy").value = "beam"  # type: ignore[attr-defined]
        screen.query_one("#field-grounding").value = "copy"  # type: ignore[attr-defined]
        screen.action_apply()  # type: ignore[attr-defined]
        await wait_until(pilot, lambda: screen.query_one("#field-grounding").has_class("-invalid"))
        fields = screen.query_one("#settings-fields")
        fields.scroll_end(animate=False)
        await wait_until(pilot, lambda: fields.max_scroll_y > 0)
        await wait_until(pilot, lambda: fields.scroll_y == fields.max_scroll_y)
        await steady(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_approval_modal_over_a_tool_card(snap_compare: Any, tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)

    async def run_before(pilot: Pilot[Any]) -> None:
        await send(pilot, "calc [bold]2+2")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ApprovalScreen")
        await steady(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
