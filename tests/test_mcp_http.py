"""MCP over Streamable HTTP on loopback: our servers served that way, and the ToolHub reaching
servers by ``url`` with the same timeouts, approval, restarts and call log as stdio servers.

Every server here is a real process on a real port (``--port 0``, the port read from the
line it prints on stderr); nothing waits a fixed time. Bounds use generous margins: the
machine running the suite is shared.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from assistant.cli import main
from assistant.settings import load_settings
from assistant.tools.client import ToolHub
from assistant.tools.config import ToolsConfig, build_tools_config, load_tools_config
from mcp_servers.transport import SERVING_LINE, is_loopback

REPO_ROOT = Path(__file__).resolve().parent.parent
MISBEHAVING = REPO_ROOT / "tests" / "http_mcp_server.py"
HTTP = ["--transport", "streamable-http", "--host", "127.0.0.1"]
READY_S = 60.0  # a cold start imports the SDK and the web server stack
MARGIN_S = 8.0
_SERVING = re.compile(re.escape(SERVING_LINE).replace(r"\{url\}", r"(http://\S+)"))
# Our default servers are left out: these tests are about the HTTP ones.
_NO_DEFAULTS = {"calculator": {"disabled": True}, "file_lookup": {"disabled": True}}


@contextmanager
def http_server(argv: list[str], log: Path, port: int = 0) -> Iterator[tuple[str, int]]:
    """Run ``python ARGV`` serving on ``port`` (0: any); yields (url, pid) once it listens."""
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, *argv, *HTTP, "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=REPO_ROOT,
        )
    try:
        yield _wait_for_url(process, log), process.pid
    finally:
        process.kill()
        process.wait(timeout=30)


def _wait_for_url(process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        found = _SERVING.search(log.read_text())
        if found:
            return found.group(1)
        if process.poll() is not None:
            raise AssertionError(f"server exited ({process.returncode}): {log.read_text()}")
        time.sleep(0.05)
    raise AssertionError(f"server did not listen within {READY_S} s: {log.read_text()}")


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


def http_config(servers: dict[str, Any], **assistant: Any) -> ToolsConfig:
    data = {"mcpServers": {**_NO_DEFAULTS, **servers}, "assistant": assistant}
    return build_tools_config(data, [], Path("mcp.json"))


@pytest.fixture
def hub_for(tmp_path: Path) -> Iterator[Any]:
    hubs: list[ToolHub] = []

    def make(config: ToolsConfig) -> ToolHub:
        hub = ToolHub(config, log_dir=tmp_path / "logs", calls_db=tmp_path / "calls.sqlite3")
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.close()


@pytest.fixture(scope="module")
def calculator_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("calc") / "stderr.log"
    with http_server(["-m", "mcp_servers.calculator"], log) as (url, _):
        yield url


@pytest.fixture
def misbehaving(tmp_path: Path) -> Iterator[tuple[str, int]]:
    with http_server([str(MISBEHAVING)], tmp_path / "server.log") as served:
        yield served


# -- our servers over HTTP ---------------------------------------------------------------


def test_hub_lists_and_calls_our_calculator_by_url(calculator_url: str, hub_for: Any) -> None:
    hub = hub_for(http_config({"calc": {"url": calculator_url}}))
    assert hub.start() == []
    tools = {tool.qualified_name: tool for tool in hub.list_tools()}
    assert set(tools) == {"calc.evaluate"}
    assert "expression" in tools["calc.evaluate"].input_schema["properties"]
    # approval as for any server added in mcp.json: asked, because nobody approved it
    assert not tools["calc.evaluate"].auto_approved
    denied = hub.call("calc", "evaluate", {"expression": "2^10"})
    assert not denied.ok and denied.error == "denied by user"
    result = hub.call("calc", "evaluate", {"expression": "2^10 / 4"}, approve=lambda _: True)
    assert result.ok, result.error
    assert result.structured["value"] == 256 and "256" in result.text
    error = hub.call("calc", "evaluate", {"expression": "1/0"}, approve=lambda _: True)
    assert not error.ok and "zero" in (error.error or "").lower()
    assert [r.outcome for r in hub.calls.recent(3)] == ["tool_error", "ok", "denied"]
    assert hub.server_status() == {"calc": "running"}


def test_file_lookup_serves_its_root_over_http(tmp_path: Path, hub_for: Any) -> None:
    root = tmp_path / "notes"
    root.mkdir()
    (root / "attention.md").write_text("Softmax over scores.\n")
    argv = ["-m", "mcp_servers.file_lookup", "--root", str(root)]
    with http_server(argv, tmp_path / "files.log") as (url, _):
        hub = hub_for(http_config({"files": {"url": url}}, auto_approve=["files.*"]))
        found = hub.call("files", "search_files", {"query": "softmax"})
        assert found.ok, found.error
        assert "attention.md:1" in found.text


def test_tools_list_shows_the_url(
    calculator_url: str, isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_mcp_json(
        isolated_home, {"mcpServers": {**_NO_DEFAULTS, "calc": {"url": calculator_url}}}
    )
    assert main(["tools", "list", "--json"]) == 0
    server = json.loads(capsys.readouterr().out)["servers"]["calc"]
    assert server["transport"] == "streamable-http" and server["url"] == calculator_url
    assert server["status"] == "running" and "command" not in server
    assert main(["tools", "list"]) == 0
    assert f"url: {calculator_url}" in capsys.readouterr().out


def test_headers_from_the_environment_reach_the_server(
    misbehaving: tuple[str, int],
    isolated_home: Path,
    hub_for: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COURSE_TEST_TOKEN", "s3cret-token")
    headers = {"Authorization": "Bearer ${COURSE_TEST_TOKEN}", "X-Course": "${env:USER_SET}"}
    monkeypatch.setenv("USER_SET", "vscode-style")
    _write_mcp_json(
        isolated_home,
        {
            "mcpServers": {**_NO_DEFAULTS, "remote": {"url": misbehaving[0], "headers": headers}},
            "assistant": {"auto_approve": ["remote.header"]},
        },
    )
    hub = hub_for(load_tools_config(load_settings()))
    sent = hub.call("remote", "header", {"name": "authorization"})
    assert sent.ok and sent.text == "Bearer s3cret-token"
    assert hub.call("remote", "header", {"name": "x-course"}).text == "vscode-style"


# -- failures: the same policies as stdio ------------------------------------------------


def test_server_dying_mid_call_is_a_clear_error_then_reconnected(
    tmp_path: Path, hub_for: Any
) -> None:
    log = tmp_path / "server.log"
    with http_server([str(MISBEHAVING)], log) as (url, first_pid):
        hub = hub_for(http_config({"remote": {"url": url}}, auto_approve=["remote.*"]))
        assert int(hub.call("remote", "pid", {}).text) == first_pid
        began = time.monotonic()
        died = hub.call("remote", "die", {})
        assert time.monotonic() - began < MARGIN_S
        assert not died.ok
        assert died.error is not None and died.error.count("\n") == 0
        assert f"server remote lost its connection to {url}" in died.error
        assert died.error.endswith("it will be reconnected on next use")
        # nobody restarts a remote server: the next call says it cannot connect
        down = hub.call("remote", "pid", {})
        assert not down.ok and f"cannot connect to {url}" in (down.error or "")
    # the server comes back on its port: the next call reconnects by itself
    with http_server([str(MISBEHAVING)], tmp_path / "again.log", port=_port(url)) as (_, pid):
        again = hub.call("remote", "pid", {})
        assert again.ok, again.error
        assert int(again.text) == pid != first_pid
    assert [r.outcome for r in hub.calls.recent(4)] == ["ok", "unavailable", "crashed", "ok"]


def test_server_restarted_between_calls_gets_a_fresh_session(tmp_path: Path, hub_for: Any) -> None:
    with http_server([str(MISBEHAVING)], tmp_path / "first.log") as (url, first_pid):
        hub = hub_for(http_config({"remote": {"url": url}}, auto_approve=["remote.*"]))
        assert int(hub.call("remote", "pid", {}).text) == first_pid
    # same address, new process: it does not know our session and says so (HTTP 404)
    with http_server([str(MISBEHAVING)], tmp_path / "second.log", port=_port(url)) as (_, pid):
        again = hub.call("remote", "pid", {})
        assert again.ok, again.error
        assert int(again.text) == pid != first_pid
    assert [r.outcome for r in hub.calls.recent(2)] == ["ok", "ok"]
    assert "HTTP 404" in (tmp_path / "logs" / "mcp-remote.log").read_text()


def test_hung_server_times_out_like_a_stdio_one(misbehaving: tuple[str, int], hub_for: Any) -> None:
    url, pid = misbehaving
    config = http_config({"remote": {"url": url}}, auto_approve=["remote.*"], call_timeout_s=1.5)
    hub = hub_for(config)
    assert hub.start() == []
    began = time.monotonic()
    hung = hub.call("remote", "hang", {})
    elapsed = time.monotonic() - began
    assert not hung.ok
    assert hung.error == "remote.hang timed out after 1.5 s; the connection was closed"
    assert 1.4 <= elapsed < 1.5 + MARGIN_S
    began = time.monotonic()
    assert not hub.call("remote", "hang", {}, timeout_s=0.5).ok  # per-call override
    assert time.monotonic() - began < 0.5 + config.init_timeout_s + MARGIN_S
    # a fresh session to the same server answers
    again = hub.call("remote", "pid", {})
    assert again.ok and int(again.text) == pid
    assert [r.outcome for r in hub.calls.recent(3)] == ["ok", "timeout", "timeout"]


def test_server_down_at_start_is_reported_and_the_others_work(
    calculator_url: str, hub_for: Any
) -> None:
    with socket.socket() as taken, socket.socket() as silent:
        taken.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections are made, requests never answered
        dead_url = f"http://127.0.0.1:{taken.getsockname()[1]}/mcp"
        silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}/mcp"
        servers = {"calc": {"url": calculator_url}, "gone": {"url": dead_url}}
        config = http_config({**servers, "silent": {"url": silent_url, "init_timeout_s": 2}})
        hub = hub_for(config)
        began = time.monotonic()
        errors = hub.start()
        assert time.monotonic() - began < 2.0 + MARGIN_S
    gone, silent_error = sorted(errors)
    assert gone.startswith(f"gone: cannot connect to {dead_url}: ")
    assert silent_error == "silent: did not initialize within 2 s"
    assert hub.server_status()["gone"].startswith("failed: cannot connect")
    assert [t.qualified_name for t in hub.list_tools()] == ["calc.evaluate"]
    call = hub.call("gone", "anything", {})
    assert not call.ok and call.error is not None
    assert call.error.startswith(f"server gone is unavailable: cannot connect to {dead_url}")
    ok = hub.call("calc", "evaluate", {"expression": "6*7"}, approve=lambda _: True)
    assert ok.ok and ok.structured["value"] == 42


# -- binding -----------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["mcp_servers.calculator", "mcp_servers.file_lookup"])
def test_our_servers_refuse_a_non_loopback_address(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", module, "--transport", "streamable-http", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().count("\n") == 0
    assert "refusing to listen on '0.0.0.0'" in done.stderr and "--allow-remote" in done.stderr


def test_loopback_addresses() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.0.1", "localhost", "::1", "[::1]"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.10", "::", "example.org"))


def _write_mcp_json(home: Path, data: dict[str, Any]) -> None:
    path = home / "config" / "mcp.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
