"""Pilot and unit tests of grounded answers in the TUI: source colouring and the cursor's
labelled probabilities, opening a copied token's passage at its line, citation markers in
the displayed answer, reopened answers, and the grounding fields of the settings screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from assistant.chat.citations import cite
from assistant.core.decoding import DecodingSettings
from assistant.errors import UsageError
from assistant.rag.retriever import Passage
from assistant.tui.answer_labels import describe_decoding, describe_finish
from assistant.tui.app import AssistantApp
from assistant.tui.cited_text import CitedText
from assistant.tui.provenance_view import copied_from, find_passage, source_class
from assistant.tui.screens.passage import split_at_line
from assistant.tui.settings_form import (
    form_values,
    parse_form,
    preset_form,
    preset_keeping_grounding,
)
from assistant.tui.widgets.assistant_message import AssistantMessage
from tests.test_tui_chat import SIZE, answered, make_app, send, wait_until
from tests.tui_fakes import (
    GROUNDED,
    GROUNDED_PASSAGES,
    GROUNDED_SHOWN,
    grounded_steps,
    make_step,
)


def panel_text(app: AssistantApp, selector: str) -> str:
    return str(app.query_one(selector).render())


def colours_by_token(message: AssistantMessage) -> list[Any]:
    content = message.render()
    return [span.style.foreground for span in content.spans]  # type: ignore[union-attr]


async def grounded_answer(pilot: Pilot[None]) -> AssistantMessage:
    await send(pilot, "ground this answer")
    message = (await answered(pilot)).message
    assert message is not None and len(message.steps) == len(GROUNDED)
    return message


# ---------------------------------------------------------------------- Pilot tests
@pytest.mark.asyncio
async def test_source_colouring_and_the_cursor_probabilities(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        message = await grounded_answer(pilot)
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: app.token_panel.has_class("-shown"))
        assert "raw rank (s: by source)" in panel_text(app, "#token-legend")
        rank_colours = colours_by_token(message)
        await pilot.press("s")
        await wait_until(pilot, lambda: "copied from" in panel_text(app, "#token-legend"))
        assert message.colouring == "source" and app.token_colouring == "source"
        legend = panel_text(app, "#token-legend")
        assert "[1]" in legend and "[2]" in legend and "the model's own" in legend
        colours = colours_by_token(message)
        assert colours != rank_colours
        by_source: dict[Any, set[Any]] = {}
        for colour, (_, passage, _) in zip(colours, GROUNDED, strict=True):
            by_source.setdefault(passage, set()).add(colour)
        # one colour per passage, another for the model's own, all different
        assert all(len(shades) == 1 for shades in by_source.values())
        assert len({next(iter(shades)) for shades in by_source.values()}) == 3

        # the cursor on a copied token: every probability labelled
        chosen = panel_text(app, "#token-chosen")
        for label, value in [
            ("raw model p", "5.00%  rank 150"),
            ("model p after processors", "4.00%"),
            ("copy p", "90.00%"),
            ("copy weight λ", "0.60"),
            ("mixed p (decoded from)", "55.60%"),
            ("match length", "3 tokens"),
            ("share from the documents", "97%"),
        ]:
            assert any(
                line.startswith(label) and line.endswith(value) for line in chosen.splitlines()
            ), (label, value, chosen)
        assert "copied from [1] corpus/decoding.md:11" in chosen
        assert "mixed (decoded from)" in panel_text(app, "#token-processed")

        # the model's own token (the first "."): its mixed p is its model p, nothing copied
        await pilot.press(*["right"] * 5)
        await wait_until(pilot, lambda: "token 6:" in panel_text(app, "#token-chosen"))
        chosen = panel_text(app, "#token-chosen")
        assert "the model's own" in chosen and "copied from [" not in chosen
        assert "copy weight λ" in chosen and "mixed p (decoded from)" in chosen
        assert "55.00%" in chosen  # model p after processors = mixed p

        await pilot.press("s")  # back to rank colouring
        await wait_until(pilot, lambda: "raw rank" in panel_text(app, "#token-legend"))
        assert colours_by_token(message) == rank_colours


@pytest.mark.asyncio
async def test_answers_without_provenance_show_as_before(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "greedy?")
        message = (await answered(pilot)).message
        assert message is not None and not message.grounded
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: app.token_panel.has_class("-shown"))
        rank_colours = colours_by_token(message)
        await pilot.press("s")
        await wait_until(pilot, lambda: "no token provenance" in panel_text(app, "#token-legend"))
        assert colours_by_token(message) == rank_colours  # still by rank
        chosen = panel_text(app, "#token-chosen")
        assert "raw p=60.00%" in chosen and "after processors p=" in chosen
        assert "copy p" not in chosen
        assert "after processors" in panel_text(app, "#token-processed")
        assert message.text == message.shown_text  # no markers without provenance


@pytest.mark.asyncio
async def test_enter_on_a_copied_token_opens_its_passage_at_the_line(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await grounded_answer(pilot)
        await pilot.press("ctrl+t", "right")  # " decoding": copied from [1], line 11
        await wait_until(pilot, lambda: "token 2:" in panel_text(app, "#token-chosen"))
        await pilot.press("enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "PassageScreen")
        screen = app.screen
        assert str(screen.query_one("#passage-line").render()) == (
            "Greedy decoding takes the argmax."
        )
        assert str(screen.query_one("#passage-box").border_title) == "corpus/decoding.md:10-13"
        assert "line 11" in str(screen.query_one("#passage-box").border_subtitle)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is not screen)
        await pilot.press(*["right"] * 4)  # the model's own ".": nothing to open
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ != "PassageScreen"
        await pilot.press("right")  # " A": copied from [2]
        await pilot.press("enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "PassageScreen")
        assert str(app.screen.query_one("#passage-line").render()) == "A unit of text."


@pytest.mark.asyncio
async def test_the_displayed_answer_has_citation_markers(tmp_path: Path) -> None:
    app, session = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        message = await grounded_answer(pilot)
        generated = "".join(text for text, _, _ in GROUNDED)
        assert message.render().plain == GROUNDED_SHOWN
        assert message.shown_text == GROUNDED_SHOWN
        # only the display changes: the answer, its copy and the stored text are as generated
        assert message.text == generated
        assert session.history.message(message.message_id).text == generated
        await pilot.press("ctrl+y")
        assert app.clipboard == generated
        # the finish reason reads as words, beside the decoding
        assert "ended after a copied sentence" in str(message.border_subtitle)


@pytest.mark.asyncio
async def test_a_reopened_answer_keeps_provenance_colours_and_markers(tmp_path: Path) -> None:
    app, session = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        original = await grounded_answer(pilot)
        original.token_view = True
        original.colouring = "source"
        await wait_until(pilot, lambda: app.token_colouring == "source")
        expected = colours_by_token(original)
        app._open_conversation(session.conversation_id)
        await wait_until(
            pilot, lambda: [m for m in app.query(AssistantMessage) if m is not original] != []
        )
        await wait_until(pilot, lambda: not original.is_attached)
        reopened = app.query_one(AssistantMessage)
        assert [s.provenance for s in reopened.steps] == [s.provenance for s in original.steps]
        assert reopened.render().plain == GROUNDED_SHOWN
        assert "ended after a copied sentence" in str(reopened.border_subtitle)
        await pilot.press("ctrl+t")  # opens in the colouring chosen before
        await wait_until(pilot, lambda: app.token_panel.has_class("-shown"))
        assert reopened.colouring == "source"
        assert colours_by_token(reopened) == expected
        assert "copied from [1] corpus/decoding.md:11" in panel_text(app, "#token-chosen")
        await pilot.press("enter")  # its stored sources open too
        await wait_until(pilot, lambda: type(app.screen).__name__ == "PassageScreen")
        assert "argmax" in str(app.screen.query_one("#passage-line").render())


async def _open_settings(pilot: Pilot[None], app: AssistantApp) -> Any:
    await wait_until(pilot, app.loaded.is_set)
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: type(app.screen).__name__ == "SettingsScreen")
    return app.screen


async def _apply_expecting(pilot: Pilot[None], screen: Any, field: str, *words: str) -> None:
    screen.action_apply()
    await pilot.pause()
    error = str(screen.query_one("#settings-error").render())
    assert f"'{field}'" in error and all(w in error for w in words), error
    assert screen.query_one(f"#field-{field}").has_class("-invalid")
    assert pilot.app.screen is screen  # still open


@pytest.mark.asyncio
async def test_settings_validate_the_grounding_fields(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_settings(pilot, app)
        for name in ("grounding", "copy_strength", "cad_alpha", "grounded_stop"):
            assert screen.query(f"#field-{name}")  # every new field is on the form
        strength = screen.query_one("#field-copy_strength")
        for bad in ("0", "1.5"):
            strength.value = bad
            await _apply_expecting(pilot, screen, "copy_strength", "(got")
        strength.value = "0.8"
        screen.query_one("#field-cad_alpha").value = "11"
        await _apply_expecting(pilot, screen, "cad_alpha")
        screen.query_one("#field-cad_alpha").value = "1.5"
        screen.query_one("#field-grounding").value = "copy"
        screen.query_one("#field-strategy").value = "beam"
        await _apply_expecting(pilot, screen, "grounding", "beam")
        assert not screen.query_one("#field-copy_strength").has_class("-invalid")
        screen.query_one("#field-strategy").value = "greedy"
        screen.query_one("#field-grounding").value = "copy+cad"
        screen.query_one("#field-grounded_stop").value = False
        before = app.decoding
        screen.action_apply()
        await wait_until(pilot, lambda: app.screen is not screen and app.decoding is not before)
        assert app.decoding is not None
        assert (
            app.decoding.grounding,
            app.decoding.copy_strength,
            app.decoding.cad_alpha,
            app.decoding.grounded_stop,
        ) == ("copy+cad", 0.8, 1.5, False)


@pytest.mark.asyncio
async def test_presets_keep_the_grounding_and_beam_turns_it_off(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_settings(pilot, app)
        screen.query_one("#field-grounding").value = "copy+cad"
        screen.query_one("#field-copy_strength").value = "0.7"
        screen.query_one("#preset").value = "balanced"
        await wait_until(pilot, lambda: screen.query_one("#field-temperature").value == "0.7")
        assert screen.query_one("#field-grounding").value == "copy+cad"
        assert screen.query_one("#field-copy_strength").value == "0.7"
        screen.query_one("#preset").value = "beam"
        await wait_until(pilot, lambda: screen.query_one("#field-strategy").value == "beam")
        assert screen.query_one("#field-grounding").value == "off"  # the form shows it
        assert screen.query_one("#field-copy_strength").value == "0.7"
        before = app.decoding
        screen.action_apply()
        await wait_until(pilot, lambda: app.screen is not screen and app.decoding is not before)
        assert app.decoding is not None
        assert (app.decoding.strategy, app.decoding.grounding) == ("beam", "off")
        # /preset does the same
        app.decoding = DecodingSettings(grounding="copy", copy_strength=0.5, seed=4)
        await send(pilot, "/preset creative")
        await pilot.pause()
        assert app.decoding.strategy == "sample"
        assert (app.decoding.grounding, app.decoding.copy_strength, app.decoding.seed) == (
            "copy",
            0.5,
            4,
        )


# ---------------------------------------------------------------------- unit tests
def test_cited_text_streams_like_cite() -> None:
    steps = grounded_steps()
    streamed = CitedText()
    for step in steps:
        streamed.push([step])
        assert GROUNDED_SHOWN.startswith(streamed.text)  # markers arrive after the sentence
    streamed.finish()
    streamed.finish()  # once only
    assert streamed.text == cite(steps)[0] == GROUNDED_SHOWN
    markers = [text for text, is_marker in streamed.parts if is_marker]
    assert markers == [" [1]", " [2]"]
    plain = CitedText([make_step(0, "Just [1] text.", 1)])
    plain.finish()
    assert plain.parts == [("Just [1] text.", False)]  # the model's own "[1]" is no marker


def test_provenance_helpers() -> None:
    steps = grounded_steps()
    copied, own = steps[0], steps[5]
    assert copied.provenance is not None and own.provenance is not None
    assert source_class(copied) == "token--passage1" and source_class(steps[6]) == (
        "token--passage2"
    )
    assert source_class(own) == "token--model" and source_class(make_step(0, "x", 1)) is None
    # found by label even when the sources list numbers differently from the prompt
    swapped = (GROUNDED_PASSAGES[1], GROUNDED_PASSAGES[0])
    assert find_passage(copied.provenance, swapped) is GROUNDED_PASSAGES[0]
    assert find_passage(own.provenance, swapped) is None
    assert copied_from(copied.provenance) == "copied from [1] corpus/decoding.md:11"
    assert copied_from(own.provenance).startswith("the model's own")
    # A retrieved passage is cited as the sources list cites it, not by its absolute path.
    retrieved = Passage(
        path="/home/student/course/corpus/decoding.md",
        start_line=9,
        end_line=12,
        page=None,
        text="…",
        score=1.0,
        dense_score=None,
        lexical_score=None,
        chunk_id=1,
        name="corpus/decoding.md",
    )
    assert copied_from(copied.provenance, retrieved) == "copied from [1] corpus/decoding.md:11"
    assert split_at_line("a\nb\nc", 10, 11) == ("a", "b", "c")
    assert split_at_line("a\nb", 10, 12) is None and split_at_line("a", 10, None) is None


def test_settings_form_grounding_fields_and_presets() -> None:
    settings = DecodingSettings(grounding="copy+cad", copy_strength=0.4, grounded_stop=False)
    values = form_values(settings)
    assert values["grounded_stop"] == "false" and values["grounding"] == "copy+cad"
    assert DecodingSettings.from_mapping(parse_form(values)) == settings
    values["grounded_stop"] = "maybe"
    with pytest.raises(UsageError, match="'grounded_stop'"):
        DecodingSettings.from_mapping(parse_form(values))
    values["grounded_stop"] = "true"
    kept = preset_form("greedy", values)
    assert (kept["strategy"], kept["grounding"], kept["copy_strength"]) == (
        "greedy",
        "copy+cad",
        "0.4",
    )
    assert preset_form("beam", values)["grounding"] == "off"
    beam = preset_keeping_grounding("beam", settings)
    assert (beam.strategy, beam.grounding, beam.copy_strength) == ("beam", "off", 0.4)
    assert preset_keeping_grounding("balanced", settings).grounding == "copy+cad"
    assert preset_keeping_grounding("greedy", None) == DecodingSettings(strategy="greedy")


def test_finish_reasons_and_decoding_read_as_words() -> None:
    assert describe_finish("sentence_end") == "ended after a copied sentence"
    assert describe_finish("cancelled") == "stopped" and describe_finish("eos") == ""
    assert describe_decoding(DecodingSettings(grounding="copy")) == "greedy · copy λ≤0.9"
    assert describe_decoding(DecodingSettings()) == "greedy"
