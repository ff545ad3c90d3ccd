"""The course search server driven by the official ``mcp`` client over stdio and HTTP.

Also: stdout carries only JSON-RPC (model loading included), the index files stay unchanged
under searching, a server started before its index exists reports that and then follows a
concurrent writer's commits, and bad start options are one line on stderr.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.rag import Indexer
from assistant.settings import Settings
from mcp_servers.course_search import server as course_search_server
from mcp_servers.course_search.records import MAX_HIT_CHARS, MAX_K
from tests.course_search_support import (
    http_server,
    server_arguments,
    server_environment,
    snapshot,
    stdio_server,
    write_course,
)
from tests.mcp_stdio_client import REPO_ROOT, SyncMcpClient, ToolOutcome
from tests.rag_support import rag_settings, tiny_embedder

COMMITS = 12


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, Any], Path]:
    """An index of the course folder, its files' snapshot right after building, a home."""
    root = tmp_path_factory.mktemp("course")
    settings = rag_settings(root / "index")
    Indexer(settings, embedder=tiny_embedder()).add([write_course(root / "corpus")])
    return settings, snapshot(settings.index_path), tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def client(built: tuple[Settings, dict[str, Any], Path]) -> Iterator[SyncMcpClient]:
    settings, _, home = built
    with stdio_server(server_arguments(settings.index_path), server_environment(home)) as client:
        yield client


def _hits(outcome: ToolOutcome) -> list[dict[str, Any]]:
    assert not outcome.is_error, outcome.text
    hits = outcome.structured["hits"]
    assert isinstance(hits, list)
    return hits


# --- stdio ------------------------------------------------------------------------------------


def test_two_read_only_tools_with_schemas(client: SyncMcpClient) -> None:
    tools = {tool.name: tool for tool in client.list_tools()}
    assert set(tools) == {"search", "read_passage"}
    search, read = tools["search"], tools["read_passage"]
    assert search.input_schema["required"] == ["query"]
    assert set(search.input_schema["properties"]) == {"query", "k", "mode"}
    assert set(search.output_schema["properties"]) == {"query", "mode", "hits"}
    assert read.input_schema["required"] == ["source"]
    assert {"source", "text", "truncated"} <= set(read.output_schema["properties"])
    for tool in tools.values():
        assert tool.annotations.read_only_hint is True
    assert "fused, dense, lexical" in (search.description or "")


def test_search_then_read_passage_over_stdio(client: SyncMcpClient) -> None:
    outcome = client.call("search", query="beam search", k=3)
    hits = _hits(outcome)
    assert 1 <= len(hits) <= 3
    top = hits[0]
    assert top["source"].startswith("corpus/decoding.md:")
    assert set(top) == {
        "source", "path", "start_line", "end_line", "page", "scores", "text", "truncated"
    }  # fmt: skip
    assert set(top["scores"]) == {"fused", "dense", "bm25"}
    assert "Beam search keeps" in top["text"]
    assert outcome.text.startswith(f"{len(hits)} passages for 'beam search' (fused):")
    assert f"1. {top['source']}  fused " in outcome.text  # readable, not a JSON dump
    passage = client.call("read_passage", source=top["source"])
    assert not passage.is_error
    assert passage.structured["source"] == top["source"]
    assert passage.structured["text"] == top["text"]
    assert passage.text.startswith(top["source"])


def test_output_is_bounded(client: SyncMcpClient) -> None:
    hits = _hits(client.call("search", query="zebra1 zebra2 zebra3 beam", k=MAX_K))
    assert len(hits) <= MAX_K
    assert all(len(hit["text"]) <= MAX_HIT_CHARS for hit in hits)
    assert any(hit["truncated"] for hit in hits)


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("search", {"query": "beam", "k": 0}, f"k must be between 1 and {MAX_K}, got 0"),
        ("search", {"query": "beam", "k": 500}, f"k must be between 1 and {MAX_K}, got 500"),
        ("search", {"query": "beam", "mode": "nope"}, "unknown mode 'nope'"),
        ("search", {"query": ""}, "the query is empty"),
        ("read_passage", {"source": "corpus/nope.md:1-2"}, "no document 'corpus/nope.md'"),
        ("read_passage", {"source": "corpus/decoding.md"}, "is not FILE:START-END"),
    ],
)
def test_bad_calls_are_tool_errors_with_one_line(
    client: SyncMcpClient, tool: str, arguments: dict[str, Any], message: str
) -> None:
    outcome = client.call(tool, **arguments)
    assert outcome.is_error
    assert message in outcome.text and "\n" not in outcome.text.strip()
    assert "Traceback" not in outcome.text


def test_serving_never_writes_the_index(
    client: SyncMcpClient, built: tuple[Settings, dict[str, Any], Path]
) -> None:
    settings, after_build, _ = built
    for mode in ("fused", "dense", "lexical"):
        for hit in _hits(client.call("search", query="decoding city", k=MAX_K, mode=mode)):
            assert not client.call("read_passage", source=hit["source"]).is_error
    assert snapshot(settings.index_path) == after_build


# --- Streamable HTTP --------------------------------------------------------------------------


def test_the_same_tools_over_streamable_http(built: tuple[Settings, dict[str, Any], Path]) -> None:
    settings, after_build, home = built
    arguments = server_arguments(settings.index_path)
    with http_server(arguments, server_environment(home)) as client:
        assert {tool.name for tool in client.list_tools()} == {"search", "read_passage"}
        (hit,) = _hits(client.call("search", query="Warsaw", k=1, mode="lexical"))
        assert hit["source"] == "corpus/sub/cities.txt:1-2"
        passage = client.call("read_passage", source=hit["source"])
        assert passage.structured["text"].startswith("Warsaw is the capital city of Poland.")
        refused = client.call("search", query="Warsaw", k=MAX_K + 1)
        assert refused.is_error and f"k must be between 1 and {MAX_K}" in refused.text
    assert snapshot(settings.index_path) == after_build


# --- an index that appears and grows while the server runs -------------------------------------


def test_a_server_started_before_its_index_follows_a_concurrent_writer(tmp_path: Path) -> None:
    settings = rag_settings(tmp_path / "index")
    first = write_course(tmp_path / "corpus")
    arguments = server_arguments(settings.index_path)
    with stdio_server(arguments, server_environment(tmp_path / "home")) as client:
        missing = client.call("search", query="beam")
        assert missing.is_error and "assistant index add DIR" in missing.text
        indexer = Indexer(settings, embedder=tiny_embedder())
        indexer.add([first])
        assert _hits(client.call("search", query="Warsaw"))  # the embedder loads here, once

        failures: list[BaseException] = []
        fresh = tmp_path / "fresh"

        def write() -> None:
            try:
                for n in range(COMMITS):  # one commit per new file, while the server searches
                    write_course(fresh, {f"new{n}.md": f"quokka{n}\n"})
                    indexer.add([fresh])
            except BaseException as error:  # reported by the main thread
                failures.append(error)

        every_new_word = " ".join(f"quokka{n}" for n in range(COMMITS))
        writer = threading.Thread(target=write)
        writer.start()
        seen: list[int] = []  # how many of the new files each search found

        def search_new_files() -> None:
            outcome = client.call("search", query=every_new_word, k=MAX_K, mode="lexical")
            seen.append(sum(h["source"].startswith("fresh/") for h in _hits(outcome)))
            assert not client.call("search", query="Warsaw quokka3", k=MAX_K).is_error

        while writer.is_alive():
            search_new_files()
        writer.join()
        assert not failures, failures
        search_new_files()  # after the last commit
        # Each search saw some committed state, never one older than the last it saw.
        assert seen == sorted(seen) and seen[-1] == COMMITS, seen
        assert any(0 < n < COMMITS for n in seen)  # it did search between the writer's commits
        (hit,) = _hits(client.call("search", query="quokka5", k=1, mode="lexical"))
        assert hit["source"] == "fresh/new5.md:1-1"
        assert client.call("read_passage", source=hit["source"]).structured["text"] == "quokka5"


# --- stdout and start-up ----------------------------------------------------------------------


def _rpc(message_id: int | None, method: str, params: dict[str, Any] | None = None) -> str:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if message_id is not None:
        message["id"] = message_id
    if params is not None:
        message["params"] = params
    return json.dumps(message) + "\n"


def test_stdout_is_only_json_rpc_while_the_embedder_loads(
    built: tuple[Settings, dict[str, Any], Path],
) -> None:
    settings, _, home = built
    initialize = {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "by-hand", "version": "0"},
    }
    calls = [
        ("search", {"query": "beam search", "mode": "dense"}),  # loads the embedding model
        ("search", {"query": "beam", "k": 0}),
        ("read_passage", {"source": "corpus/decoding.md:1-3"}),
    ]
    requests = [_rpc(1, "initialize", initialize), _rpc(None, "notifications/initialized")]
    requests += [
        _rpc(n, "tools/call", {"name": name, "arguments": args})
        for n, (name, args) in enumerate(calls, start=2)
    ]
    process = subprocess.Popen(
        [sys.executable, *server_arguments(settings.index_path), "--log-level", "DEBUG"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=server_environment(home),
    )
    assert process.stdin and process.stdout
    lines: list[str] = []
    try:
        process.stdin.write("".join(requests))
        process.stdin.flush()
        expected = set(range(1, len(calls) + 2))
        answered: set[int] = set()
        while answered != expected:  # keep stdin open until every call is answered
            line = process.stdout.readline()
            assert line, "server closed stdout before answering"
            lines.append(line)
            answered |= {json.loads(line).get("id")} & expected
        remaining, stderr = process.communicate(timeout=60)  # closing stdin stops the server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines += remaining.splitlines(keepends=True)
    assert "DEBUG" in stderr  # the logging went somewhere, and not to stdout
    messages = {message.get("id"): message for message in map(json.loads, lines)}
    assert all(message["jsonrpc"] == "2.0" for message in messages.values())
    assert messages[1]["result"]["serverInfo"]["name"] == "course-search"
    assert messages[2]["result"]["structuredContent"]["hits"]
    assert messages[3]["result"]["isError"] is True
    assert messages[4]["result"]["structuredContent"]["source"] == "corpus/decoding.md:1-3"


def test_an_index_path_that_is_a_file_is_one_line_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_dir = tmp_path / "index"
    not_a_dir.write_text("")
    assert course_search_server.main(["--index", str(not_a_dir)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: --index {str(not_a_dir)!r} is not a directory\n"


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("assistant-course-search")
    assert script.exists(), "run `pip install -e .` to create the console scripts"
    completed = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0
    assert "--index DIR" in completed.stdout and "--transport" in completed.stdout
