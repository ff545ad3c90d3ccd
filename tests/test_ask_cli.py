"""`assistant ask` and `assistant history` as a user runs them: a subprocess for the full
path, in-process ``main()`` for the rest (each subprocess pays the torch import); real stdio
tool servers, a tiny model and a tiny embedder, every path under tmp."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.chat_support import SLOW_SERVER, write_docs
from tests.rag_support import other_tiny_embedder_path, tiny_embedder_path
from tests.tiny import build_tiny_model


@pytest.fixture
def env(
    isolated_home: Path, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    docs = write_docs(tmp_path / "docs")
    values = {
        "ASSISTANT_MODEL": str(tiny_model_dir),
        "ASSISTANT_ALLOW_FALLBACK": "false",
        "ASSISTANT_EMBED_MODEL": str(tiny_embedder_path()),
        "ASSISTANT_DOCUMENTS": str(docs),
        "ASSISTANT_TORCH_THREADS": "1",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)  # for in-process main() calls
    return dict(os.environ)


def in_process(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> tuple[str, str]:
    from assistant.cli import main

    assert main(list(args)) == code
    out = capsys.readouterr()
    return out.out, out.err


def assistant(env: dict[str, str], *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == code, done.stderr
    return done


def ask_json(env: dict[str, str], *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(assistant(env, "ask", *args, "--json").stdout)
    return data


def test_ask_json_answers_with_tools_sources_tokens_and_history(env: dict[str, str]) -> None:
    data = ask_json(env, "how much is 2^20?", "--max-new-tokens", "4", "--top-logprobs", "2")
    assert data["error"] is None
    (call,) = data["tool_calls"]
    assert call["name"] == "calculator.evaluate" and call["ok"] and "1048576" in call["text"]
    assert "1048576" in data["prompt"]
    assert 1 <= len(data["tokens"]) <= 4
    token = data["tokens"][0]
    assert {"text", "logprob", "rank", "top"} <= set(token) and len(token["top"]) == 2
    assert data["answer"] == "".join(t["text"] for t in data["tokens"])
    assert data["sources"] and all("included" in s for s in data["sources"])
    budget = data["budget"]
    assert budget["prompt_tokens"] <= budget["available"] == 128 - 4
    assert data["model"]["context_length"] == 128 and data["model"]["fallback"] is False
    assert data["timing"]["ttft"] > 0 and data["decoding"]["max_new_tokens"] == 4


def test_history_commands_show_what_ask_stored(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    in_process(capsys, "ask", "what is 6*7?", "--no-rag", "--max-new-tokens", "3", "--json")
    listed = json.loads(in_process(capsys, "history", "list", "--json")[0])
    assert [c["title"] for c in listed] == ["what is 6*7?"]
    cid = str(listed[0]["id"])
    exported = json.loads(in_process(capsys, "history", "export", cid, "--format", "json")[0])
    answer = exported["messages"][-1]
    assert answer["role"] == "assistant" and answer["tokens"][0]["top"]
    assert answer["tool_calls"][0]["name"] == "calculator.evaluate"
    markdown = in_process(capsys, "history", "show", cid)[0]
    assert markdown.startswith("# what is 6*7?") and "calculator.evaluate" in markdown
    hits = json.loads(in_process(capsys, "history", "search", "6*7", "--json")[0])
    assert hits and hits[0]["conversation_id"] == int(cid)


def test_dry_run_plans_without_running(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = in_process(
        capsys, "ask", "show me lora.md", "--dry-run", "--json", "--max-new-tokens", "16"
    )
    data = json.loads(out)
    assert [c["name"] for c in data["route"]["calls"]] == ["file_lookup.read_file"]
    assert data["tool_calls"] == [] and data["tokens"] == [] and data["answer"] == ""
    assert data["prompt"].endswith("Question: show me lora.md\nAnswer:")
    assert data["budget"]["prompt_tokens"] <= data["budget"]["available"]
    assert data["message_id"] is None


def _slow_server_config(env: dict[str, str]) -> None:
    config = Path(env["ASSISTANT_HOME"]) / "config" / "mcp.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    server = {"command": sys.executable, "args": [str(SLOW_SERVER)]}
    config.write_text(json.dumps({"mcpServers": {"slow": server}}), encoding="utf-8")


def test_tools_needing_approval_are_denied_unless_yes(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _slow_server_config(env)
    question = '/tool slow.echo {"text": "approved echo \\u001b[2J"}'
    out, err = in_process(capsys, "ask", question, "--no-rag", "--max-new-tokens", "2", "--json")
    assert "needs approval; denied" in err
    (call,) = json.loads(out)["tool_calls"]
    assert not call["ok"] and not call["approved"]
    out, _ = in_process(capsys, "ask", question, "--no-rag", "--max-new-tokens", "2", "--yes")
    assert "[slow.echo]\napproved echo" in out  # the result, verbatim …
    assert "\x1b" not in out and "approved echo \\x1b[2J" in out  # … but no live escapes


def test_ask_is_grounded_by_default_with_provenance_and_citations(
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A random tiny model with room for passages (the shared one has 128 positions).
    monkeypatch.setenv("ASSISTANT_MODEL", str(build_tiny_model(tmp_path / "m", n_positions=512)))
    question = "What does beam search keep at every step?"
    out, _ = in_process(capsys, "ask", question, "--no-tools", "--json", "--max-new-tokens", "40")
    data = json.loads(out)
    assert data["decoding"]["grounding"] == "copy"
    # The random model quotes the retrieved passage once copy is on.
    assert "Beam search keeps the best partial sequences at every step." in data["answer"]
    tokens = data["tokens"]
    assert tokens and all(t["provenance"] is not None for t in tokens)
    copied = [t["provenance"] for t in tokens if t["provenance"]["copied"]]
    # Cited relative to the documents folder ("docs/decoding.md:3-4"), not by absolute path.
    assert copied and all(p["source"].startswith("docs/") for p in copied)
    (citation,) = [c for c in data["citations"] if "Beam search keeps" in c["sentence"]]
    number = citation["passages"][0]
    assert f"[{number}]" in data["cited_answer"] and f"[{number}]" not in data["answer"]
    included = [s for s in data["sources"] if s["included"]]
    assert included[number - 1]["source"].startswith("docs/decoding.md:")
    docs = env["ASSISTANT_DOCUMENTS"]
    assert included[number - 1]["path"] == str(Path(docs) / "decoding.md")
    # Off: the plain model, no provenance.
    out, _ = in_process(
        capsys,
        "ask",
        question,
        "--no-tools",
        "--json",
        "--max-new-tokens",
        "8",
        "--grounding",
        "off",
    )
    assert all(t["provenance"] is None for t in json.loads(out)["tokens"])


def test_ask_cites_sources_relative_to_the_documents_folder(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    question = "What does beam search keep?"
    out, _ = in_process(capsys, "ask", question, "--no-tools", "--max-new-tokens", "2")
    sources = out.split("\nSources:\n", 1)[1].splitlines()
    assert sources and all(line.startswith(f"  [{n}] docs/") for n, line in enumerate(sources, 1))
    assert env["ASSISTANT_DOCUMENTS"] not in out
    # index search: the same label in text; --json keeps the absolute path beside it
    out, _ = in_process(capsys, "index", "search", "beam search", "--k", "2")
    assert out.startswith("1. docs/") and env["ASSISTANT_DOCUMENTS"] not in out
    out, _ = in_process(capsys, "index", "search", "beam search", "--k", "2", "--json")
    for hit in json.loads(out):
        assert hit["source"] == f"{hit['name']}:{hit['start_line']}-{hit['end_line']}"
        assert hit["name"].startswith("docs/")
        assert hit["path"] == str(Path(env["ASSISTANT_DOCUMENTS"]) / hit["name"][len("docs/") :])


def test_an_index_of_another_embedder_is_never_mixed_and_ask_answers_without_sources(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = env["ASSISTANT_DOCUMENTS"]
    in_process(capsys, "index", "add", docs)
    built_with = str(tiny_embedder_path())
    other = str(other_tiny_embedder_path())
    monkeypatch.setenv("ASSISTANT_EMBED_MODEL", other)
    expected = (
        f"the index was built with {built_with}; the configured embedder is {other}: "
        "run `assistant index rebuild`"
    )
    question = "What does beam search keep?"
    # ask: one warning line with the fix, then the answer without sources (exit 0)
    out, err = in_process(capsys, "ask", question, "--no-tools", "--max-new-tokens", "2")
    assert f"warning: {expected} (answering without sources)\n" in err
    assert "Sources:" not in out
    out, _ = in_process(capsys, "ask", question, "--no-tools", "--max-new-tokens", "2", "--json")
    data = json.loads(out)
    assert data["sources"] == [] and data["error"] is None
    assert any(n["text"].startswith(expected) for n in data["notices"])
    # index add refuses (vectors of two models never meet), index search too, one line each
    for command in (("index", "add", docs), ("index", "search", "beam")):
        _, err = in_process(capsys, *command, code=1)
        assert err == f"error: {expected}\n"
    # the rebuild re-embeds everything with the configured model; then sources are back
    in_process(capsys, "index", "rebuild")
    out, _ = in_process(capsys, "index", "stats", "--json")
    assert json.loads(out)["model"] == other
    out, err = in_process(capsys, "ask", question, "--no-tools", "--max-new-tokens", "2")
    assert "Sources:\n  [1] docs/" in out and "index was built with" not in err
