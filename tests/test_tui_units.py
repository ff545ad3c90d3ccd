"""Unit tests of the TUI's plain parts and its UI-free helpers: literal text, command
parsing, the typed-token lookup and the fork step."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from assistant.chat.fork import alternative_step
from assistant.core.decoding import DecodingSettings
from assistant.core.engine import Engine
from assistant.core.lookup import continuation_logprobs
from assistant.errors import UsageError
from assistant.tui import commands
from assistant.tui.safe_text import join, literal, sanitize
from assistant.tui.screens.settings import form_values, parse_form
from tests.tui_fakes import make_step


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("[bold]x[/bold]", "[bold]x[/bold]"),
        ("[/", "[/"),
        ("[link=http://evil]x[/link]", "[link=http://evil]x[/link]"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("\x1b]8;;http://e\x07link\x1b]8;;\x07", "\\x1b]8;;http://e\\x07link\\x1b]8;;\\x07"),
        ("a\r\nb\rc", "a\nb\\x0dc"),
        ("tab\there", "tab    here"),
        ("\x9b31m C1 CSI", "\\x9b31m C1 CSI"),
        ("abc\u202edcba", "abc\\u202edcba"),
        ("zażółć 日本", "zażółć 日本"),
    ],
)
def test_sanitize_makes_every_control_visible(raw: str, shown: str) -> None:
    assert sanitize(raw) == shown
    content = literal(raw, "bold")
    assert content.plain == shown
    assert all(ord(c) >= 0x20 or c == "\n" for c in content.plain)


def test_literal_content_parses_no_markup() -> None:
    content = join(("[b]", "italic"), "[@click=app.quit]x[/]")
    assert content.plain == "[b][@click=app.quit]x[/]"
    assert all(not span.style.meta for span in content.spans if hasattr(span.style, "meta"))


def test_command_parsing() -> None:
    parsed = commands.parse("/probs Warsaw is")
    assert parsed is not None and parsed[0].name == "probs" and parsed[1] == "Warsaw is"
    assert commands.parse("/EXPORT json") == (commands.BY_NAME["export"], "json")
    assert commands.parse("plain question") is None
    assert commands.parse("/calc 2+2") is None  # the session's router handles it
    assert "/compare [PROMPT]" in commands.help_text()


def test_tool_commands_match_the_router() -> None:
    from assistant.tools.router import COMMANDS

    assert tuple(name for name, _ in commands.TOOL_COMMANDS) == tuple(COMMANDS)


def test_settings_form_round_trip_and_errors() -> None:
    settings = DecodingSettings(strategy="sample", temperature=0.5, stop=("\n\n", "Q:"), seed=3)
    assert DecodingSettings.from_mapping(parse_form(form_values(settings))) == settings
    values = form_values(DecodingSettings())
    assert parse_form(values)["seed"] is None
    values["top_k"] = "many"
    with pytest.raises(UsageError, match="'top_k'"):
        DecodingSettings.from_mapping(parse_form(values))
    values["top_k"], values["stop"] = "0", "\\n, Q:"  # not JSON
    with pytest.raises(UsageError, match="'stop'"):
        parse_form(values)


def test_alternative_step_takes_rank_and_probabilities_from_the_table() -> None:
    step = make_step(4, " the", rank=1)
    alt = step.top[2]
    forked = alternative_step(step, alt.token_id, alt.text)
    assert (forked.token_id, forked.text, forked.rank) == (alt.token_id, alt.text, 3)
    assert forked.logprob == alt.logprob and forked.index == 4
    assert forked.processed_logprob == step.top_processed[2].logprob
    with pytest.raises(UsageError):
        alternative_step(step, 123456, "?")


def test_continuation_logprobs_match_the_next_token_table(tiny_model_dir: Path) -> None:
    engine = Engine.load(str(tiny_model_dir), allow_fallback=False, threads=1)
    prefix = "Beam search keeps the best"
    table = engine.next_token_distribution(prefix, k=1000)
    ids = engine.encode(prefix)
    checked = 0
    for rank, entry in enumerate(table[:10], 1):
        if engine.encode(entry.text) != [entry.token_id]:
            continue  # a token whose text re-tokenises differently
        (found,) = continuation_logprobs(engine, ids, entry.text)
        checked += 1
        assert found.token_id == entry.token_id and found.rank == rank
        assert math.isclose(found.logprob, entry.logprob, abs_tol=1e-5)
    assert checked >= 3
    # several tokens: each equals the model's score of that token (score() starts from BOS)
    text = " partial sequences"
    assert engine.encode(prefix + text) == ids + engine.encode(text)
    rows = continuation_logprobs(engine, [engine.bos_token_id or 0, *ids], text)
    scored = engine.score(prefix + text)
    assert len(rows) == len(engine.encode(text))
    assert math.isclose(
        sum(r.logprob for r in rows), sum(scored.logprobs[-len(rows) :]), abs_tol=1e-4
    )
    with pytest.raises(UsageError):
        continuation_logprobs(engine, ids, "")
