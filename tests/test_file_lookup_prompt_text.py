"""What the user and the model get of a file lookup result through the hub: readable text.

Over the real stdio server: the tool card and the prompt show search hits as path:line lines
and listings one entry per line, not a JSON dump; programs keep the structured content.
"""

from __future__ import annotations

from pathlib import Path

from assistant.chat.tool_text import prompt_text
from assistant.settings import load_settings
from assistant.tools.client import ToolHub
from assistant.tools.plan import PlannedCall


def test_search_and_list_results_read_as_lines_for_user_and_model(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.md").write_text("Attention weights.\nSoftmax over scores.\n")
    search = PlannedCall("file_lookup", "search_files", {"query": "softmax"}, "test")
    listing = PlannedCall("file_lookup", "list_files", {}, "test")
    with ToolHub.from_settings(load_settings({"documents": [docs]})) as hub:
        found = hub.call(search.server, search.tool, search.arguments)
        listed = hub.call(listing.server, listing.tool, listing.arguments)
    assert found.ok and listed.ok
    assert found.text.splitlines()[1:] == ["notes.md:2: Softmax over scores."]
    assert found.structured is not None and found.structured["matches"][0]["line"] == 2
    for_model, cut = prompt_text(search, found, max_chars=4000)
    assert for_model == (
        "file_lookup.search_files: 1 line contains 'softmax' (1 file searched)\n"
        "notes.md:2: Softmax over scores."
    )
    assert not cut
    assert (
        prompt_text(listing, listed)[0]
        == "file_lookup.list_files: .: 1 entry\nnotes.md  (40 bytes)"
    )
