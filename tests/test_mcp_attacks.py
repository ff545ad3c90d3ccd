"""Attack suite over real stdio: every promise of both servers, one hostile input at a time.

Each attack must come back as an MCP tool error (``isError: true``) naming the reason, must not
leak anything from outside the root, and the very next call on the same server must still work.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mcp_stdio_client import SyncMcpClient, mcp_server, server_command

SECRET = "SECRET-FROM-OUTSIDE-THE-ROOT"
TWO_GIB = 2 * 1024**3


# --- calculator -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def calculator() -> Iterator[SyncMcpClient]:
    with mcp_server(server_command("mcp_servers.calculator")) as client:
        yield client


def _assert_calculator_still_serves(calculator: SyncMcpClient) -> None:
    outcome = calculator.call("evaluate", expression="6 * 7")
    assert not outcome.is_error
    assert outcome.structured["value"] == 42


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("9**9**9", "result too large"),
        ("10**10**10", "result too large"),
        ("factorial(10**6)", "result too large"),
        ("1 << 10**12", "result too large"),
        ("2 ** (2 ** 64)", "result too large"),
        ("(" * 100_000, "expression too long"),
        ("(" * 45 + "1" + ")" * 45, "nested too deeply"),
        ("9" * (1024 * 1024), "expression too long"),  # a 1 MB string
        ("+".join(["factorial(3000)"] * 60), "too expensive"),
        ("1/0", "division by zero"),
        ("sqrt(-1)", "not a real number"),
        ("exp(10**6)", "overflow"),
        ("2 * * 3", "syntax error"),
    ],
    ids=lambda value: value[:30] if isinstance(value, str) else None,
)
def test_calculator_hostile_arithmetic(
    calculator: SyncMcpClient, expression: str, message: str
) -> None:
    outcome = calculator.call("evaluate", expression=expression)
    assert outcome.is_error
    assert message in outcome.text
    _assert_calculator_still_serves(calculator)


@pytest.mark.parametrize(
    "code",
    [
        "__import__('os').system('touch /tmp/pwned-by-calculator')",
        "open('/etc/passwd').read()",
        "().__class__.__base__.__subclasses__()",
        "eval('1+1')",
        "exec('x=1')",
        "getattr(1, 'real')",
        "lambda: 0",
        "[x for x in range(10**9)]",
        "'a' * 10**9",
        "pi.__class__",
        "sqrt.__globals__",
        "max[0]",
        "\x00",
    ],
)
def test_calculator_never_executes_code(calculator: SyncMcpClient, code: str) -> None:
    outcome = calculator.call("evaluate", expression=code)
    assert outcome.is_error
    assert outcome.structured is None
    assert not Path("/tmp/pwned-by-calculator").exists()
    _assert_calculator_still_serves(calculator)


def test_calculator_rejects_a_non_string_argument(calculator: SyncMcpClient) -> None:
    outcome = calculator.call("evaluate", expression=["2", "+", "2"])
    assert outcome.is_error
    _assert_calculator_still_serves(calculator)


# --- file lookup ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``docs`` (the root) full of traps, next to ``docs-evil`` and a secret outside."""
    base = tmp_path_factory.mktemp("attack")
    root = base / "docs"
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "notes.md").write_text("Safe notes inside the root.\n")
    (root / "a" / "b" / "c" / "deep.md").write_text("Deep but safe.\n")
    (base / "docs-evil").mkdir()
    (base / "docs-evil" / "secret.txt").write_text(SECRET + "\n")
    (base / "outside.txt").write_text(SECRET + "\n")
    # Symlinks that leave the root, at several depths.
    (root / "escape-file").symlink_to(base / "outside.txt")
    (root / "escape-dir").symlink_to(base)
    (root / "sibling").symlink_to("../docs-evil")
    (root / "a" / "b" / "c" / "deep-escape").symlink_to("../../../../outside.txt")
    (root / "a" / "b" / "relative-hop").symlink_to("c/deep-escape")
    (root / "etc-passwd").symlink_to("/etc/passwd")
    (root / "zero").symlink_to("/dev/zero")
    (root / "environ").symlink_to("/proc/self/environ")
    (root / "dangling-outside").symlink_to("/nonexistent/outside")
    # Loops.
    (root / "loop-a").symlink_to("loop-b")
    (root / "loop-b").symlink_to("loop-a")
    (root / "a" / "b" / "c" / "cycle").symlink_to("../../..")
    # Special and awkward files.
    os.mkfifo(root / "fifo")
    (root / "blob.bin").write_bytes(bytes(range(256)) * 64)
    with (root / "huge.txt").open("wb") as sparse:
        sparse.write(b"text at the start\n")
        sparse.truncate(TWO_GIB)  # 2 GiB, sparse: costs no disk
    return root


@pytest.fixture(scope="module")
def file_lookup(hostile_tree: Path) -> Iterator[SyncMcpClient]:
    command = server_command("mcp_servers.file_lookup", "--root", str(hostile_tree))
    with mcp_server(command) as client:
        yield client


def _assert_lookup_still_serves(file_lookup: SyncMcpClient) -> None:
    outcome = file_lookup.call("read_file", path="notes.md")
    assert not outcome.is_error
    assert "Safe notes" in outcome.structured["content"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../outside.txt", "outside root"),
        ("a/../../outside.txt", "outside root"),
        ("..\\outside.txt", "outside root"),
        ("../docs-evil/secret.txt", "outside root"),
        ("/etc/passwd", "outside root"),
        ("~/.bashrc", "outside root"),
        ("~", "outside root"),
        ("notes.md\x00.png", "invalid request"),
        ("escape-file", "outside root"),
        ("escape-dir/outside.txt", "outside root"),
        ("sibling/secret.txt", "outside root"),
        ("a/b/c/deep-escape", "outside root"),
        ("a/b/relative-hop", "outside root"),
        ("etc-passwd", "outside root"),
        ("zero", "outside root"),
        ("environ", "outside root"),
        ("dangling-outside", "outside root"),
        ("loop-a", "not found"),
        ("missing.md", "not found"),
        ("fifo", "not a regular file"),
        ("a", "not a regular file"),
        ("blob.bin", "binary file"),
        ("huge.txt", "too large"),
    ],
)
def test_read_file_attacks(file_lookup: SyncMcpClient, path: str, reason: str) -> None:
    outcome = file_lookup.call("read_file", path=path)
    assert outcome.is_error
    assert reason in outcome.text
    assert SECRET not in outcome.text
    _assert_lookup_still_serves(file_lookup)


@pytest.mark.parametrize(
    ("tool", "arguments", "reason"),
    [
        ("file_info", {"path": "escape-file"}, "outside root"),
        ("file_info", {"path": "sibling"}, "outside root"),
        ("file_info", {"path": "fifo"}, "not a regular file"),
        ("file_info", {"path": "zero"}, "outside root"),
        ("list_files", {"path": "escape-dir"}, "outside root"),
        ("list_files", {"path": "sibling"}, "outside root"),
        ("list_files", {"path": ".."}, "outside root"),
        ("list_files", {"path": "/"}, "outside root"),
        ("list_files", {"path": "loop-a"}, "not found"),
        ("search_files", {"query": "x", "max_results": 10**9}, "invalid request"),
        ("search_files", {"query": "x" * 100_000}, "invalid request"),
        ("list_files", {"pattern": "*" * 100_000}, "invalid request"),
    ],
)
def test_other_tool_attacks(
    file_lookup: SyncMcpClient, tool: str, arguments: dict[str, object], reason: str
) -> None:
    outcome = file_lookup.call(tool, **arguments)
    assert outcome.is_error
    assert reason in outcome.text
    _assert_lookup_still_serves(file_lookup)


def test_sparse_two_gib_file_is_described_but_never_read(file_lookup: SyncMcpClient) -> None:
    info = file_lookup.call("file_info", path="huge.txt")
    assert info.structured["size_bytes"] == TWO_GIB
    assert info.structured["line_count"] is None
    search = file_lookup.call("search_files", query="text at the start")
    assert search.structured["matches"] == []
    assert search.structured["files_skipped"] >= 2  # huge.txt and blob.bin


def test_walks_never_leave_the_root_nor_loop(file_lookup: SyncMcpClient) -> None:
    listing = file_lookup.call("list_files", recursive=True)
    assert not listing.is_error
    assert not listing.structured["truncated"]
    paths = {entry["path"]: entry["type"] for entry in listing.structured["entries"]}
    assert paths["a/b/c/cycle"] == "symlink"  # listed, not entered
    assert paths["escape-dir"] == "symlink"
    assert paths["fifo"] == "other"
    assert not any(path.endswith(("secret.txt", "/outside.txt")) for path in paths)
    search = file_lookup.call("search_files", query="SECRET")
    assert search.structured["matches"] == []
    assert SECRET not in search.text
    _assert_lookup_still_serves(file_lookup)


def test_a_fifo_never_blocks_the_server(file_lookup: SyncMcpClient) -> None:
    for tool in ("read_file", "file_info"):
        assert file_lookup.call(tool, path="fifo").is_error
    assert not file_lookup.call("search_files", query="safe", glob="fifo").is_error
    _assert_lookup_still_serves(file_lookup)


@pytest.fixture(scope="module")
def hundred_thousand_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # In memory where possible: 100k inodes on a busy disk take minutes to create and delete.
    shared_memory = Path("/dev/shm")
    if shared_memory.is_dir() and os.access(shared_memory, os.W_OK):
        root = Path(tempfile.mkdtemp(prefix="mcp-100k-", dir=shared_memory))
    else:
        root = tmp_path_factory.mktemp("many")
    for directory_index in range(100):
        directory = root / f"d{directory_index:03}"
        directory.mkdir()
        for file_index in range(1_000):
            descriptor = os.open(directory / f"f{file_index:04}.txt", os.O_WRONLY | os.O_CREAT)
            os.write(descriptor, b"needle\n")
            os.close(descriptor)
    (root / "d000" / "loop").symlink_to("..")
    yield root
    shutil.rmtree(root)  # do not leave 100k files behind in the pytest temp directory


@pytest.mark.slow
def test_a_hundred_thousand_file_tree_is_walked_within_bounds(
    hundred_thousand_files: Path,
) -> None:
    command = server_command("mcp_servers.file_lookup", "--root", str(hundred_thousand_files))
    with mcp_server(command) as client:
        listing = client.call("list_files", recursive=True)
        assert not listing.is_error
        assert listing.structured["truncated"]
        assert len(listing.structured["entries"]) == 1_000
        unmatched = client.call("list_files", pattern="*.none", recursive=True)
        assert unmatched.structured["truncated"]
        assert "stopped after" in unmatched.structured["note"]
        search = client.call("search_files", query="needle", max_results=1_000)
        assert search.structured["truncated"]
        assert len(search.structured["matches"]) == 1_000
        everywhere = client.call("search_files", query="absent text")
        assert everywhere.structured["truncated"]
        assert everywhere.structured["files_searched"] < 20_000
        assert client.call("file_info", path="d099/f0999.txt").structured["line_count"] == 1
