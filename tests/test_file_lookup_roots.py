"""The file lookup over several document folders, and its readable text, over real stdio.

One server serves every folder, each as a named root confined exactly like a single root;
every tool answers with structured content for programs and plain text for people.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_servers.file_lookup.errors import InvalidRequestError, NotFoundError, OutsideRootError
from mcp_servers.file_lookup.roots import RootSet, name_roots, parse_root_spec
from tests.mcp_stdio_client import SyncMcpClient, mcp_server, server_command

SECRET = "SECRET-BETWEEN-THE-ROOTS"


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("folders")
    course, extra, other_notes = base / "course", base / "extra", base / "other" / "course"
    (course / "guides").mkdir(parents=True)
    (course / "guides" / "mcp.md").write_text("# MCP\nTools speak JSON-RPC.\nServers over stdio.\n")
    (course / "notes.md").write_text("Attention weights.\nSoftmax over scores.\n")
    extra.mkdir()
    (extra / "lora.md").write_text("LoRA: low-rank adapters.\nSoftmax again.\n")
    (extra / "to-course").symlink_to(course)  # a link from one root into another
    (extra / "secret-link.md").symlink_to(base / "secret.txt")
    other_notes.mkdir(parents=True)
    (other_notes / "same-name.md").write_text("A second folder called course.\n")
    (base / "secret.txt").write_text(SECRET + "\n")
    (base / "extra-evil").mkdir()
    (base / "extra-evil" / "leak.md").write_text(SECRET + "\n")
    return {"course": course, "extra": extra, "other": other_notes}


@pytest.fixture(scope="module")
def several(folders: dict[str, Path]) -> Iterator[SyncMcpClient]:
    command = server_command(
        "mcp_servers.file_lookup",
        "--root",
        str(folders["course"]),
        "--root",
        str(folders["extra"]),
        "--root",
        str(folders["other"]),  # same folder name as the first: served as course-2
    )
    with mcp_server(command) as client:
        yield client


@pytest.fixture(scope="module")
def single(folders: dict[str, Path]) -> Iterator[SyncMcpClient]:
    with mcp_server(
        server_command("mcp_servers.file_lookup", "--root", str(folders["course"]))
    ) as c:
        yield c


# --- every folder is served ------------------------------------------------------------------


def test_the_top_level_lists_every_root_by_name(several: SyncMcpClient) -> None:
    top = several.call("list_files")
    assert not top.is_error
    assert [(e["path"], e["type"]) for e in top.structured["entries"]] == [
        ("course", "directory"),
        ("extra", "directory"),
        ("course-2", "directory"),
    ]


def test_paths_carry_the_root_name_in_arguments_and_results(several: SyncMcpClient) -> None:
    read = several.call("read_file", path="extra/lora.md", start_line=2)
    assert read.structured["path"] == "extra/lora.md"
    assert read.structured["content"] == "     2\tSoftmax again."
    same_name = several.call("read_file", path="course-2/same-name.md")
    assert "second folder" in same_name.structured["content"]
    listing = several.call("list_files", path="course", pattern="*.md", recursive=True)
    assert [e["path"] for e in listing.structured["entries"]] == [
        "course/guides/mcp.md",
        "course/notes.md",
    ]
    info = several.call("file_info", path="course/guides")
    assert (info.structured["path"], info.structured["type"]) == ("course/guides", "directory")


def test_search_and_recursive_listing_cover_all_roots(several: SyncMcpClient) -> None:
    found = several.call("search_files", query="softmax")
    assert [(m["path"], m["line"]) for m in found.structured["matches"]] == [
        ("course/notes.md", 2),
        ("extra/lora.md", 2),
    ]
    assert found.structured["files_searched"] == 4
    markdown = several.call("list_files", pattern="*.md", recursive=True)
    paths = [e["path"] for e in markdown.structured["entries"]]
    assert paths == [
        "course/guides/mcp.md",
        "course/notes.md",
        "extra/lora.md",
        "extra/secret-link.md",  # listed as a symlink, never followed
        "course-2/same-name.md",
    ]
    capped = several.call("search_files", query="softmax", max_results=1)
    assert len(capped.structured["matches"]) == 1 and capped.structured["truncated"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("extra/../course/notes.md", "outside root"),
        ("extra/to-course/notes.md", "outside root"),  # a link into another root
        ("extra/secret-link.md", "outside root"),
        ("extra-evil/leak.md", "not found"),  # a sibling-prefix name is no root
        ("/etc/passwd", "outside root"),
        ("notes.md", "not found"),  # with several roots a path must name one
        ("course", "not a regular file"),
        (".", "not a regular file"),
    ],
)
def test_each_root_stays_confined(several: SyncMcpClient, path: str, reason: str) -> None:
    outcome = several.call("read_file", path=path)
    assert outcome.is_error and reason in outcome.text
    assert SECRET not in outcome.text
    assert several.call("file_info", path="course/notes.md").structured["line_count"] == 2


def test_the_roots_are_named_in_the_server_instructions(folders: dict[str, Path]) -> None:
    from mcp_servers.file_lookup.server import build_server

    server = build_server([("course", folders["course"]), ("extra", folders["extra"])])
    assert "course, extra" in (server.instructions or "")


def test_one_root_behaves_as_before(single: SyncMcpClient) -> None:
    top = single.call("list_files")
    assert [e["path"] for e in top.structured["entries"]] == ["guides", "notes.md"]
    assert single.call("read_file", path="notes.md").structured["path"] == "notes.md"


def test_root_specs_and_names() -> None:
    assert parse_root_spec("notes=/srv/notes") == ("notes", "/srv/notes")
    assert parse_root_spec("/srv/a=b") == (None, "/srv/a=b")
    assert parse_root_spec("./a=b") == (None, "./a=b")


def test_naming_deduplicates_and_rejects_clashes(folders: dict[str, Path]) -> None:
    course, other = folders["course"], folders["other"]
    named = name_roots([(None, course), (None, other), (None, course)])  # same folder once
    assert [name for name, _ in named] == ["course", "course-2"]
    assert name_roots([(None, course), ("course", other)])[0][0] == "course-2"
    with pytest.raises(InvalidRequestError, match="given twice"):
        name_roots([("x", course), ("x", other)])


def test_root_set_refuses_paths_outside_every_root(folders: dict[str, Path]) -> None:
    roots = RootSet([("course", folders["course"]), ("extra", folders["extra"])])
    try:
        with pytest.raises(OutsideRootError):
            roots.list_files("course/../..")
        with pytest.raises(NotFoundError, match="no root"):
            roots.file_info("elsewhere/notes.md")
        assert roots.roots == {"course": folders["course"], "extra": folders["extra"]}
    finally:
        roots.close()


# --- readable text beside the structured content ---------------------------------------------


def test_read_file_text_is_the_numbered_excerpt(single: SyncMcpClient) -> None:
    outcome = single.call("read_file", path="guides/mcp.md", start_line=2, end_line=3)
    assert outcome.text == (
        "guides/mcp.md, lines 2-3 of 3\n     2\tTools speak JSON-RPC.\n     3\tServers over stdio."
    )
    assert outcome.structured["content"].startswith("     2\tTools")  # unchanged for programs


def test_search_text_is_one_file_line_hit_per_line(several: SyncMcpClient) -> None:
    outcome = several.call("search_files", query="softmax")
    assert outcome.text.splitlines() == [
        "2 lines contain 'softmax' (4 files searched)",
        "course/notes.md:2: Softmax over scores.",
        "extra/lora.md:2: Softmax again.",
    ]
    none = several.call("search_files", query="no such words")
    assert none.text == "No line contains 'no such words' (4 files searched)"


def test_list_and_info_texts_are_plain_lines(single: SyncMcpClient) -> None:
    listing = single.call("list_files", recursive=True)
    assert listing.text.splitlines() == [
        ".: 3 entries",
        "guides/",
        "guides/mcp.md  (48 bytes)",
        "notes.md  (40 bytes)",
    ]
    info = single.call("file_info", path="notes.md")
    assert info.text.startswith("notes.md: file, 40 bytes, 2 lines, modified ")
    assert not any(outcome.text.lstrip().startswith("{") for outcome in (listing, info))
