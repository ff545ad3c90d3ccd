"""`assistant tools list|call|log` in-process, over the real stdio servers."""

from __future__ import annotations

import json
from pathlib import Path

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


@pytest.fixture
def two_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    course, extra = tmp_path / "course", tmp_path / "extra"
    course.mkdir()
    extra.mkdir()
    (course / "notes.md").write_text("Attention weights.\nSoftmax over scores.\n")
    (extra / "lora.md").write_text("LoRA: low-rank adapters.\nSoftmax again.\n")
    monkeypatch.setenv("ASSISTANT_DOCUMENTS", f"{course}:{extra}")
    return course, extra


def test_list_shows_every_folder_the_file_lookup_serves(
    two_folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    course, extra = two_folders
    assert main(["tools", "list"]) == 0
    out = capsys.readouterr().out
    assert "roots (each path starts with its root's name):" in out
    assert f"course  {course.resolve()}" in out and f"extra   {extra.resolve()}" in out
    assert main(["tools", "list", "--json"]) == 0
    roots = json.loads(capsys.readouterr().out)["servers"]["file_lookup"]["roots"]
    assert roots == [
        {"name": "course", "path": str(course.resolve())},
        {"name": "extra", "path": str(extra.resolve())},
    ]


def test_call_prints_readable_text_and_json_keeps_the_structure(
    two_folders: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["tools", "call", "file_lookup.search_files", "--args", '{"query": "softmax"}']
    assert main(argv) == 0
    assert capsys.readouterr().out.splitlines() == [
        "2 lines contain 'softmax' (2 files searched)",
        "course/notes.md:2: Softmax over scores.",
        "extra/lora.md:2: Softmax again.",
    ]
    assert main([*argv, "--json"]) == 0
    structured = json.loads(capsys.readouterr().out)["structured"]
    assert [match["path"] for match in structured["matches"]] == [
        "course/notes.md",
        "extra/lora.md",
    ]
    read = ["tools", "call", "file_lookup.read_file", "--args", '{"path": "extra/lora.md"}']
    assert main(read) == 0
    assert capsys.readouterr().out == (
        "extra/lora.md, lines 1-2 of 2\n     1\tLoRA: low-rank adapters.\n     2\tSoftmax again.\n"
    )
