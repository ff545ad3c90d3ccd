"""The file lookup's pure sandbox: tools, root confinement, file types and bounds."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcp_servers.file_lookup import paths as sandbox_module
from mcp_servers.file_lookup.errors import (
    BinaryFileError,
    InvalidRequestError,
    NotDirectoryError,
    NotFoundError,
    NotRegularFileError,
    OutsideRootError,
    TooLargeError,
)
from mcp_servers.file_lookup.records import SandboxLimits
from mcp_servers.file_lookup.sandbox import Sandbox

SECRET = "TOP-SECRET-OUTSIDE-THE-ROOT"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A root ``docs`` with notes, plus a sibling ``docs-evil`` and a secret outside both."""
    root = tmp_path / "docs"
    (root / "notes" / "deep").mkdir(parents=True)
    (root / "intro.md").write_text("# Intro\nAttention is all you need.\nSecond line\n")
    (root / "notes" / "rag.md").write_text("Retrieval augmented generation.\nATTENTION again\n")
    (root / "notes" / "deep" / "crlf.txt").write_bytes(b"one\r\ntwo\r\nthree")
    (root / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100))
    (tmp_path / "docs-evil").mkdir()
    (tmp_path / "docs-evil" / "secret.txt").write_text(SECRET + "\n")
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    return root


@pytest.fixture
def box(tree: Path) -> Iterator[Sandbox]:
    with Sandbox(tree) as sandbox:
        yield sandbox


def test_list_files_top_level_sorted_with_types_and_sizes(box: Sandbox) -> None:
    listing = box.list_files()
    assert listing.path == "."
    assert [(entry.path, entry.type) for entry in listing.entries] == [
        ("image.png", "file"),
        ("intro.md", "file"),
        ("notes", "directory"),
    ]
    assert listing.entries[1].size_bytes == len(
        "# Intro\nAttention is all you need.\nSecond line\n"
    )
    assert not listing.truncated


def test_list_files_recursive_with_pattern(box: Sandbox) -> None:
    listing = box.list_files(".", "*.MD", recursive=True)
    assert [entry.path for entry in listing.entries] == ["intro.md", "notes/rag.md"]
    subdir = box.list_files("notes", recursive=True)
    assert [entry.path for entry in subdir.entries] == [
        "notes/deep",
        "notes/deep/crlf.txt",
        "notes/rag.md",
    ]
    by_path = box.list_files(".", "notes/*/*.txt", recursive=True)
    assert [entry.path for entry in by_path.entries] == ["notes/deep/crlf.txt"]


def test_list_files_on_a_file_is_refused(box: Sandbox) -> None:
    with pytest.raises(NotDirectoryError):
        box.list_files("intro.md")


def test_read_file_numbers_lines_and_selects_a_range(box: Sandbox) -> None:
    content = box.read_file("intro.md")
    assert (
        content.content
        == "     1\t# Intro\n     2\tAttention is all you need.\n     3\tSecond line"
    )
    assert (content.start_line, content.end_line, content.total_lines) == (1, 3, 3)
    assert not content.truncated
    part = box.read_file("intro.md", start_line=2, end_line=2)
    assert part.content == "     2\tAttention is all you need."
    assert (part.start_line, part.end_line) == (2, 2)
    past_the_end = box.read_file("intro.md", start_line=10)
    assert past_the_end.content == ""
    assert past_the_end.end_line == 9


def test_read_file_handles_crlf_and_missing_final_newline(box: Sandbox) -> None:
    content = box.read_file("notes/deep/crlf.txt")
    assert content.content.split("\n") == ["     1\tone", "     2\ttwo", "     3\tthree"]


def test_read_file_output_is_capped_and_marked_truncated(tree: Path) -> None:
    (tree / "long.txt").write_text("".join(f"line {n}\n" for n in range(1, 10_001)))
    with Sandbox(tree, SandboxLimits(max_output_bytes=1_000)) as small:
        content = small.read_file("long.txt")
        assert content.truncated
        assert len(content.content.encode()) <= 1_000
        assert content.total_lines == 10_000
        following = small.read_file("long.txt", start_line=content.end_line + 1)
        assert following.content.startswith(
            f"{content.end_line + 1:>6}\tline {content.end_line + 1}"
        )


def test_read_file_argument_checks(box: Sandbox) -> None:
    with pytest.raises(InvalidRequestError):
        box.read_file("intro.md", start_line=0)
    with pytest.raises(InvalidRequestError):
        box.read_file("intro.md", start_line=3, end_line=2)
    with pytest.raises(NotRegularFileError):
        box.read_file("notes")
    with pytest.raises(NotRegularFileError):
        box.read_file(".")
    with pytest.raises(NotFoundError):
        box.read_file("missing.md")


def test_search_is_literal_and_case_insensitive(box: Sandbox) -> None:
    result = box.search_files("attention")
    assert [(match.path, match.line, match.text) for match in result.matches] == [
        ("intro.md", 2, "Attention is all you need."),
        ("notes/rag.md", 2, "ATTENTION again"),
    ]
    assert result.files_skipped == 1  # image.png is binary
    assert box.search_files("a.*n").matches == []  # not a regex
    assert box.search_files("attention", glob="notes/*").matches[0].path == "notes/rag.md"
    assert len(box.search_files("e", max_results=2).matches) == 2
    assert box.search_files("e", max_results=2).truncated


def test_search_argument_checks(box: Sandbox) -> None:
    for query in ("", "two\nlines", "x" * 1_001):
        with pytest.raises(InvalidRequestError):
            box.search_files(query)
    for count in (0, 1_001):
        with pytest.raises(InvalidRequestError):
            box.search_files("a", max_results=count)


def test_file_info(box: Sandbox) -> None:
    info = box.file_info("intro.md")
    assert (info.type, info.line_count, info.is_binary) == ("file", 3, False)
    assert info.modified.endswith("+00:00")
    assert box.file_info("image.png").is_binary is True
    assert box.file_info("notes").type == "directory"
    assert box.file_info(".").path == "."


def test_binary_files_are_refused(box: Sandbox) -> None:
    with pytest.raises(BinaryFileError, match="binary file"):
        box.read_file("image.png")


def test_too_large_files_are_refused(tree: Path) -> None:
    (tree / "big.txt").write_text("x" * 2_000)
    with Sandbox(tree, SandboxLimits(max_file_bytes=1_000)) as small:
        with pytest.raises(TooLargeError, match="too large"):
            small.read_file("big.txt")
        assert small.file_info("big.txt").line_count is None
        search = small.search_files("x")
        assert search.matches == []
        assert search.files_skipped == 2  # big.txt and the binary PNG


@pytest.mark.parametrize(
    "path",
    [
        "..",
        "../secret.txt",
        "../docs-evil/secret.txt",
        "notes/../../secret.txt",
        "notes\\..\\..\\secret.txt",
        "/etc/passwd",
        "\\etc\\passwd",
        "C:\\Windows\\win.ini",
        "~",
        "~/secret.txt",
        "~root/.bashrc",
    ],
)
def test_paths_that_name_the_outside_are_refused(box: Sandbox, path: str) -> None:
    for call in (box.read_file, box.file_info, box.list_files):
        with pytest.raises(OutsideRootError, match="outside root"):
            call(path)


def test_absolute_path_to_the_root_itself_is_refused(box: Sandbox, tree: Path) -> None:
    with pytest.raises(OutsideRootError):
        box.read_file(str(tree / "intro.md"))


def test_names_that_merely_look_special_are_ordinary_files(box: Sandbox, tree: Path) -> None:
    (tree / "a:b.md").write_text("colon\n")
    (tree / "x~y.md").write_text("tilde\n")
    assert box.read_file("a:b.md").content == "     1\tcolon"
    assert box.read_file("x~y.md").content == "     1\ttilde"
    with pytest.raises(OutsideRootError):
        box.read_file("C:/Windows")


def test_nul_bytes_are_refused(box: Sandbox) -> None:
    with pytest.raises(InvalidRequestError, match="NUL"):
        box.read_file("intro.md\0.png")


def test_sibling_with_the_root_as_prefix_is_outside(tree: Path) -> None:
    # A string-prefix check would accept ".../docs-evil" as inside ".../docs".
    (tree / "evil").symlink_to(tree.parent / "docs-evil")
    (tree / "evil-file").symlink_to(tree.parent / "docs-evil" / "secret.txt")
    with Sandbox(tree) as box:
        for path in ("evil/secret.txt", "evil-file", "evil"):
            with pytest.raises(OutsideRootError):
                box.read_file(path)
        with pytest.raises(OutsideRootError):
            box.list_files("evil")


def test_symlinks_inside_the_root_are_followed(tree: Path) -> None:
    (tree / "alias.md").symlink_to("notes/rag.md")
    (tree / "notes" / "deep" / "up").symlink_to("..")
    with Sandbox(tree) as box:
        assert box.read_file("alias.md").path == "notes/rag.md"
        assert "Retrieval" in box.read_file("notes/deep/up/rag.md").content
        listing = box.list_files(recursive=True)
        types = {entry.path: entry.type for entry in listing.entries}
        assert types["alias.md"] == "symlink"
        assert types["notes/deep/up"] == "symlink"  # listed, not walked into


def test_symlink_escapes_at_any_depth(tree: Path) -> None:
    (tree / "notes" / "deep" / "out").symlink_to(tree.parent)
    (tree / "notes" / "deep" / "secret-link").symlink_to("../../../secret.txt")
    (tree / "notes" / "hop").symlink_to("deep/secret-link")  # link to a link that leaves
    with Sandbox(tree) as box:
        for path in ("notes/deep/out/secret.txt", "notes/deep/secret-link", "notes/hop"):
            with pytest.raises(OutsideRootError):
                box.read_file(path)
            with pytest.raises(OutsideRootError):
                box.file_info(path)
        assert SECRET not in str(box.search_files("SECRET").matches)
        assert box.search_files("TOP-SECRET").matches == []


def test_root_given_through_a_symlink_still_confines(tree: Path) -> None:
    link_to_root = tree.parent / "root-link"
    link_to_root.symlink_to(tree)
    with Sandbox(link_to_root) as box:
        assert box.read_file("intro.md").total_lines == 3
        with pytest.raises(OutsideRootError):
            box.read_file("../secret.txt")


def test_symlink_loops_are_reported_not_followed(tree: Path) -> None:
    (tree / "loop-a").symlink_to("loop-b")
    (tree / "loop-b").symlink_to("loop-a")
    (tree / "self").symlink_to(".")
    with Sandbox(tree) as box:
        with pytest.raises(NotFoundError, match="cannot be resolved"):
            box.read_file("loop-a")
        assert box.read_file("self/self/self/intro.md").path == "intro.md"
        listing = box.list_files(recursive=True)
        assert not listing.truncated
        assert {"loop-a", "loop-b", "self"} <= {entry.path for entry in listing.entries}


def test_fifo_is_never_opened_for_reading(tree: Path) -> None:
    os.mkfifo(tree / "pipe")
    with Sandbox(tree) as box:
        with pytest.raises(NotRegularFileError, match="FIFO"):
            box.read_file("pipe")
        with pytest.raises(NotRegularFileError):
            box.file_info("pipe")
        search = box.search_files("attention")
        assert (search.files_searched, search.files_skipped) == (3, 1)  # the PNG is skipped
        types = {entry.path: entry.type for entry in box.list_files().entries}
        assert types["pipe"] == "other"


def test_device_and_proc_links_are_outside(tree: Path) -> None:
    (tree / "zero").symlink_to("/dev/zero")
    (tree / "environ").symlink_to("/proc/self/environ")
    with Sandbox(tree) as box:
        for path in ("zero", "environ"):
            with pytest.raises(OutsideRootError):
                box.read_file(path)


def test_a_directory_swapped_for_a_symlink_after_the_check_is_refused(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Time-of-check/time-of-use: the swap happens between resolving and opening."""
    outside = tree.parent / "outside"
    outside.mkdir()
    (outside / "rag.md").write_text(SECRET + "\n")
    original_resolve = Sandbox._resolve

    def resolve_then_swap(self: Sandbox, user_path: str) -> tuple[str, ...]:
        parts = original_resolve(self, user_path)
        (tree / "notes").rename(tree / "notes-moved")
        (tree / "notes").symlink_to(outside)
        return parts

    monkeypatch.setattr(Sandbox, "_resolve", resolve_then_swap)
    with Sandbox(tree) as box, pytest.raises(OutsideRootError, match="changed"):
        box.read_file("notes/rag.md")


def test_a_file_swapped_for_a_symlink_after_the_check_is_refused(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original_resolve = Sandbox._resolve

    def resolve_then_swap(self: Sandbox, user_path: str) -> tuple[str, ...]:
        parts = original_resolve(self, user_path)
        (tree / "intro.md").unlink()
        (tree / "intro.md").symlink_to(tree.parent / "secret.txt")
        return parts

    monkeypatch.setattr(Sandbox, "_resolve", resolve_then_swap)
    with Sandbox(tree) as box, pytest.raises(NotRegularFileError, match="symlink"):
        box.read_file("intro.md")


def test_a_file_replaced_between_lstat_and_open_is_refused(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def open_after_replacing(
        path: str, flags: int, mode: int = 0o777, *, dir_fd: int | None = None
    ) -> int:
        if path == "intro.md":
            # Rename rather than delete, so the new file cannot reuse the old inode number.
            os.rename("intro.md", "intro-old.md", src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            replacement = real_open("intro.md", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=dir_fd)
            os.close(replacement)
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(sandbox_module.os, "open", open_after_replacing)
    with Sandbox(tree) as box, pytest.raises(OutsideRootError, match="changed"):
        box.read_file("intro.md")


def test_descriptor_verification_rejects_a_file_opened_outside(tree: Path) -> None:
    with Sandbox(tree) as box:
        fd = os.open(tree.parent / "secret.txt", os.O_RDONLY)
        try:
            if not Path(f"/proc/self/fd/{fd}").exists():
                pytest.skip("no /proc/self/fd on this system")
            with pytest.raises(OutsideRootError):
                box._verify_descriptor_inside_root(fd, "secret.txt")
        finally:
            os.close(fd)


def test_walks_are_bounded_in_entries_and_depth(tree: Path) -> None:
    many = tree / "many"
    many.mkdir()
    for index in range(300):
        (many / f"f{index:03}.txt").write_text("needle\n")
    deep = tree
    for level in range(10):
        deep = deep / f"d{level}"
    deep.mkdir(parents=True)
    (deep / "bottom.txt").write_text("needle\n")

    limits = SandboxLimits(max_walk_entries=100, max_list_entries=50, max_walk_depth=4)
    with Sandbox(tree, limits) as box:
        listing = box.list_files("many")
        assert listing.truncated and len(listing.entries) == 50
        walked = box.list_files(".", "*.none", recursive=True)  # nothing matches: walks on
        assert walked.truncated and walked.note and "stopped after 100 entries" in walked.note
        search = box.search_files("needle", max_results=1_000)
        assert search.truncated and search.files_searched < 100
        assert not any(
            entry.path.endswith("bottom.txt")
            for entry in box.list_files("d0", recursive=True).entries
        )
    with Sandbox(tree) as box:
        assert box.file_info("d0/d1/d2/d3/d4/d5/d6/d7/d8/d9/bottom.txt").line_count == 1


def test_walks_stop_at_the_time_budget(tree: Path) -> None:
    with Sandbox(tree, SandboxLimits(max_walk_seconds=-1.0)) as box:
        listing = box.list_files(recursive=True)
        assert listing.truncated
        assert listing.entries == []
        assert listing.note and "stopped after -1 s" in listing.note
        search = box.search_files("Attention")
        assert search.truncated
        assert (search.files_searched, search.matches) == (0, [])


def test_search_reads_a_bounded_number_of_bytes(tree: Path) -> None:
    for index in range(5):
        (tree / f"chunk{index}.txt").write_text("needle\n" + "x" * 1_000)
    with Sandbox(tree, SandboxLimits(max_search_bytes=2_500)) as box:
        result = box.search_files("needle", glob="chunk*")
        assert result.truncated
        assert result.files_searched == 2
        assert result.note and "stopped after reading" in result.note


def test_missing_root_is_reported(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        Sandbox(tmp_path / "missing")
