"""Every tool of both servers over real stdio, spawned with the official ``mcp`` client.

Plus one hand-written JSON-RPC conversation checking that stdout carries nothing but
protocol messages, as any MCP client (Claude Desktop, MCP Inspector) requires.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp_servers.file_lookup import server as file_lookup_server
from tests.mcp_stdio_client import REPO_ROOT, SyncMcpClient, mcp_server, server_command

CALCULATOR = server_command("mcp_servers.calculator")


@pytest.fixture(scope="module")
def calculator() -> Iterator[SyncMcpClient]:
    with mcp_server(CALCULATOR) as client:
        yield client


@pytest.fixture(scope="module")
def lookup_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    (root / "guides").mkdir()
    (root / "guides" / "mcp.md").write_text("# MCP\nTools speak JSON-RPC.\nServers over stdio.\n")
    (root / "notes.md").write_text("Attention weights.\nSoftmax over scores.\n")
    return root


@pytest.fixture(scope="module")
def file_lookup(lookup_root: Path) -> Iterator[SyncMcpClient]:
    command = server_command("mcp_servers.file_lookup", "--root", str(lookup_root))
    with mcp_server(command) as client:
        yield client


# --- calculator -------------------------------------------------------------------------------


def test_calculator_lists_one_tool_with_input_and_output_schemas(calculator: SyncMcpClient) -> None:
    (tool,) = calculator.list_tools()
    assert tool.name == "evaluate"
    assert tool.input_schema["required"] == ["expression"]
    assert set(tool.output_schema["properties"]) == {
        "expression",
        "value",
        "display",
        "exact",
        "numerator",
        "denominator",
    }
    assert tool.annotations.read_only_hint is True
    assert "factorial" in (tool.description or "")


def test_evaluate_returns_structured_content_and_a_readable_line(
    calculator: SyncMcpClient,
) -> None:
    outcome = calculator.call("evaluate", expression="2(3+4)^2")
    assert not outcome.is_error
    assert outcome.structured == {
        "expression": "2 * (3 + 4) ** 2",
        "value": 98,
        "display": "98",
        "exact": True,
        "numerator": 98,
        "denominator": 1,
    }
    assert outcome.text == "2 * (3 + 4) ** 2 = 98"  # for people: no JSON dump
    approximate = calculator.call("evaluate", expression="sqrt(2)")
    assert approximate.text == "sqrt(2) ≈ 1.4142135623731"
    assert approximate.structured["exact"] is False
    assert approximate.structured["numerator"] is None


def test_evaluate_sends_exact_fractions_over_the_wire(calculator: SyncMcpClient) -> None:
    outcome = calculator.call("evaluate", expression="2^100 / 7")
    assert outcome.text == f"2 ** 100 / 7 = {2**100}/7 ≈ 1.81092942889747e+29"
    structured = outcome.structured
    assert structured["exact"] is True
    assert (structured["numerator"], structured["denominator"]) == (2**100, 7)
    assert structured["value"] == pytest.approx(2**100 / 7, rel=1e-15)
    decimal = calculator.call("evaluate", expression="0.1 + 0.2")
    assert decimal.text == "0.1 + 0.2 = 0.3"
    assert (decimal.structured["numerator"], decimal.structured["denominator"]) == (3, 10)


def test_evaluate_keeps_big_integers_exact_over_the_wire(calculator: SyncMcpClient) -> None:
    outcome = calculator.call("evaluate", expression="2**3000")
    assert outcome.structured["value"] == 2**3000
    assert outcome.structured["display"] == str(2**3000)


def test_evaluate_errors_are_tool_errors_and_the_server_keeps_serving(
    calculator: SyncMcpClient,
) -> None:
    for expression, message in [
        ("1/0", "division by zero"),
        ("sqrt(-1)", "not a real number"),
        ("2 +", "syntax error"),
        ("10**400.5", "overflow"),
    ]:
        outcome = calculator.call("evaluate", expression=expression)
        assert outcome.is_error
        assert message in outcome.text
        assert outcome.structured is None
        assert calculator.call("evaluate", expression="1+1").structured["value"] == 2


def test_calculator_console_script_serves_too() -> None:
    script = Path(sys.executable).with_name("assistant-calculator")
    assert script.exists(), "run `pip install -e .` to create the console scripts"
    with mcp_server([str(script)]) as client:
        assert client.call("evaluate", expression="6*7").structured["value"] == 42


# --- file lookup ------------------------------------------------------------------------------


def test_file_lookup_lists_its_four_tools(file_lookup: SyncMcpClient) -> None:
    tools = {tool.name: tool for tool in file_lookup.list_tools()}
    assert set(tools) == {"list_files", "read_file", "search_files", "file_info"}
    assert tools["read_file"].input_schema["required"] == ["path"]
    assert all(tool.output_schema for tool in tools.values())
    assert all(tool.annotations.read_only_hint for tool in tools.values())


def test_list_files_over_stdio(file_lookup: SyncMcpClient) -> None:
    top = file_lookup.call("list_files")
    assert [entry["path"] for entry in top.structured["entries"]] == ["guides", "notes.md"]
    markdown = file_lookup.call("list_files", pattern="*.md", recursive=True)
    assert [entry["path"] for entry in markdown.structured["entries"]] == [
        "guides/mcp.md",
        "notes.md",
    ]


def test_read_file_over_stdio(file_lookup: SyncMcpClient) -> None:
    outcome = file_lookup.call("read_file", path="guides/mcp.md", start_line=2, end_line=3)
    assert (
        outcome.structured["content"]
        == "     2\tTools speak JSON-RPC.\n     3\tServers over stdio."
    )
    assert outcome.structured["total_lines"] == 3
    assert outcome.structured["truncated"] is False


def test_search_files_over_stdio(file_lookup: SyncMcpClient) -> None:
    outcome = file_lookup.call("search_files", query="SOFTMAX")
    assert outcome.structured["matches"] == [
        {"path": "notes.md", "line": 2, "text": "Softmax over scores."}
    ]


def test_file_info_over_stdio(file_lookup: SyncMcpClient) -> None:
    outcome = file_lookup.call("file_info", path="notes.md")
    assert outcome.structured["type"] == "file"
    assert outcome.structured["line_count"] == 2


def test_file_lookup_errors_name_the_reason_and_the_server_keeps_serving(
    file_lookup: SyncMcpClient,
) -> None:
    for tool, arguments, reason in [
        ("read_file", {"path": "../etc/passwd"}, "outside root"),
        ("read_file", {"path": "/etc/passwd"}, "outside root"),
        ("read_file", {"path": "missing.md"}, "not found"),
        ("read_file", {"path": "guides"}, "not a regular file"),
        ("list_files", {"path": "notes.md"}, "not a directory"),
        ("search_files", {"query": ""}, "invalid request"),
    ]:
        outcome = file_lookup.call(tool, **arguments)
        assert outcome.is_error, (tool, arguments)
        assert reason in outcome.text
        assert file_lookup.call("file_info", path="notes.md").structured["line_count"] == 2


def test_file_lookup_console_script_serves_too(lookup_root: Path) -> None:
    script = Path(sys.executable).with_name("assistant-file-lookup")
    with mcp_server([str(script), "--root", str(lookup_root)]) as client:
        assert client.call("file_info", path="notes.md").structured["type"] == "file"


def test_missing_root_fails_with_one_line_and_exit_code_2(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    completed = subprocess.run(
        [*server_command("mcp_servers.file_lookup"), "--root", str(missing)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.strip().splitlines() == [
        f"error: root directory {str(missing)!r} does not exist"
    ]


def test_default_root_is_the_repository_corpus() -> None:
    assert file_lookup_server.DEFAULT_ROOT == REPO_ROOT / "corpus"


# --- stdout carries nothing but JSON-RPC ------------------------------------------------------


def _rpc(message_id: int | None, method: str, params: dict[str, Any] | None = None) -> str:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if message_id is not None:
        message["id"] = message_id
    if params is not None:
        message["params"] = params
    return json.dumps(message) + "\n"


def _call(message_id: int, tool: str, **arguments: Any) -> str:
    return _rpc(message_id, "tools/call", {"name": tool, "arguments": arguments})


def _converse(command: list[str], requests: list[str], expected_ids: set[int]) -> list[str]:
    """Send requests, read until every expected response arrived, then close; return stdout."""
    process = subprocess.Popen(
        [*command, "--log-level", "DEBUG"],  # plenty of logging, all of which must avoid stdout
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    assert process.stdin and process.stdout
    try:
        for request in requests:
            process.stdin.write(request)
        process.stdin.flush()
        lines: list[str] = []
        answered: set[int] = set()
        while answered != expected_ids:
            line = process.stdout.readline()
            assert line, "server closed stdout before answering"
            lines.append(line)
            answered.add(json.loads(line).get("id"))
            answered &= expected_ids
        remaining, stderr = process.communicate(timeout=30)  # closes stdin: the server exits
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines.extend(remaining.splitlines(keepends=True))
    assert stderr, "expected DEBUG logging on stderr"
    return lines


def _assert_all_json_rpc(lines: list[str]) -> list[dict[str, Any]]:
    messages = []
    for line in lines:
        assert line.endswith("\n")
        message = json.loads(line)
        assert message["jsonrpc"] == "2.0"
        assert ("result" in message) != ("error" in message) or "method" in message
        messages.append(message)
    return messages


@pytest.mark.parametrize("protocol_version", ["2025-06-18", "2025-11-25"])
def test_calculator_stdout_is_only_json_rpc(protocol_version: str) -> None:
    requests = [
        _rpc(
            1,
            "initialize",
            {
                "protocolVersion": protocol_version,
                "capabilities": {},
                "clientInfo": {"name": "by-hand", "version": "0"},
            },
        ),
        _rpc(None, "notifications/initialized"),
        _rpc(2, "tools/list"),
        _call(3, "evaluate", expression="2+2"),
        _call(4, "evaluate", expression="1/0"),
        _call(5, "evaluate", expression="9**9**9"),
        _call(6, "no_such_tool"),
        "this is not json\n",
        _call(7, "evaluate", expression="3*3"),
    ]
    lines = _converse(CALCULATOR, requests, {1, 2, 3, 4, 5, 6, 7})
    by_id = {message.get("id"): message for message in _assert_all_json_rpc(lines)}
    assert by_id[1]["result"]["serverInfo"]["name"] == "calculator"
    assert [tool["name"] for tool in by_id[2]["result"]["tools"]] == ["evaluate"]
    assert by_id[3]["result"]["structuredContent"]["value"] == 4
    assert by_id[4]["result"]["isError"] is True
    assert by_id[5]["result"]["isError"] is True
    assert by_id[6]["result"]["isError"] is True or "error" in by_id[6]
    assert by_id[7]["result"]["structuredContent"]["value"] == 9


def test_file_lookup_stdout_is_only_json_rpc(lookup_root: Path) -> None:
    command = server_command("mcp_servers.file_lookup", "--root", str(lookup_root))
    requests = [
        _rpc(
            1,
            "initialize",
            {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "by-hand", "version": "0"},
            },
        ),
        _rpc(None, "notifications/initialized"),
        _rpc(2, "tools/list"),
        _call(3, "read_file", path="../secret"),
        _call(4, "read_file", path="notes.md"),
        _call(5, "search_files", query="stdio"),
    ]
    lines = _converse(command, requests, {1, 2, 3, 4, 5})
    by_id = {message.get("id"): message for message in _assert_all_json_rpc(lines)}
    assert by_id[3]["result"]["isError"] is True
    assert by_id[4]["result"]["structuredContent"]["total_lines"] == 2
    assert by_id[5]["result"]["structuredContent"]["matches"][0]["path"] == "guides/mcp.md"
