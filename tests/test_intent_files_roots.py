"""File intents when the file lookup serves several folders: paths carry the root's name."""

from __future__ import annotations

from pathlib import Path

from assistant.tools.intent_files import file_intent

SEVERAL = ["course/decoding.md", "course/guides/mcp.md", "extra/lora.md", "extra/mcp.md"]


def test_a_bare_file_name_becomes_the_one_known_path_ending_with_it() -> None:
    intent = file_intent("show me lora.md lines 2-4", SEVERAL)
    assert intent is not None
    assert intent.arguments == {"path": "extra/lora.md", "start_line": 2, "end_line": 4}
    guides = file_intent("open guides/mcp.md", SEVERAL)
    assert guides is not None and guides.arguments == {"path": "course/guides/mcp.md"}


def test_ambiguous_or_full_or_unknown_names_are_passed_as_typed() -> None:
    for text, path in [
        ("open mcp.md", "mcp.md"),  # in two roots: the server says which paths exist
        ("open extra/mcp.md", "extra/mcp.md"),
        ("open missing.md", "missing.md"),
    ]:
        intent = file_intent(text, SEVERAL)
        assert intent is not None and intent.arguments == {"path": path}


def test_topics_resolve_to_prefixed_paths() -> None:
    intent = file_intent("open the decoding notes", SEVERAL)
    assert intent is not None and intent.arguments == {"path": "course/decoding.md"}


def test_the_chat_offers_the_router_the_paths_the_file_lookup_uses(tmp_path: Path) -> None:
    from assistant.chat.components import Components
    from assistant.settings import load_settings

    course, extra = tmp_path / "course", tmp_path / "extra"
    (course / "guides").mkdir(parents=True)
    extra.mkdir()
    (course / "guides" / "mcp.md").write_text("x\n")
    (extra / "lora.md").write_text("x\n")
    several = Components(load_settings({"documents": [course, extra]}))
    assert several.known_files() == ["course/guides/mcp.md", "extra/lora.md"]
    one = Components(load_settings({"documents": [course]}))
    assert one.known_files() == ["guides/mcp.md"]
