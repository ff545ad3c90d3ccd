"""`assistant tools list|call|log` in-process, over the real stdio servers."""

from __future__ import annotations

import json

import pytest

from assistant.cli import main


def test_call_calculator_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["tools", "call", "calculator.evaluate", "--args", '{"expression": "2^10"}',
                 "--json"])  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["ok"] and out["structured"]["value"] == 1024
    assert out["name"] == "calculator.evaluate" and out["arguments"] == {"expression": "2^10"}
    # ... and it was logged
    assert main(["tools", "log", "--json"]) == 0
    calls = json.loads(capsys.readouterr().out)["calls"]
    assert calls[0]["tool"] == "evaluate" and calls[0]["outcome"] == "ok"


def test_tool_error_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["tools", "call", "calculator.evaluate", "--args", '{"expression": "1/0"}'])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: ") and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["tools", "call", "calculator.evaluate", "--args", "{oops"],
        ["tools", "call", "calculator.evaluate", "--args", "[1]"],
        ["tools", "call", "calculator", "--args", "{}"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_list_json_names_every_tool(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "list", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    names = {tool["name"] for tool in out["tools"]}
    assert {"calculator.evaluate", "file_lookup.read_file", "file_lookup.search_files"} <= names
    assert out["servers"]["calculator"]["status"] == "running"
    assert out["config_file"].endswith("mcp.json")
