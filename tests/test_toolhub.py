"""ToolHub over real stdio servers: ours, and a third-party-style one written here.

Bounded-time checks use generous margins: the machine running the suite is shared.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from assistant.chat.events import PlannedCall
from assistant.tools.client import ToolHub
from assistant.tools.config import ServerConfig, ToolsConfig, build_tools_config

MARGIN_S = 8.0  # slack for a loaded machine on top of every configured bound

THIRD_PARTY_SERVER = textwrap.dedent(
    """
    import asyncio, os, time
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server = MCPServer(name="ext")

    @server.tool()
    def echo(text: str) -> str:
        "Return the text unchanged."
        return text

    @server.tool()
    def pid() -> int:
        "The server's process id."
        return os.getpid()

    @server.tool()
    def big(n: int) -> str:
        "A long result."
        return "line of output\\n" * (n // 15)

    @server.tool()
    async def slow(seconds: float) -> str:
        "Answer after a while."
        await asyncio.sleep(seconds)
        return "done"

    @server.tool()
    def hang() -> str:
        "Never answers (blocks the server)."
        time.sleep(3600)
        return "never"

    @server.tool()
    def fail() -> str:
        "Always a tool error."
        raise ToolError("this tool always fails")

    if __name__ == "__main__":
        server.run("stdio")
    """
)


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("docs")
    (root / "decoding.md").write_text("# Decoding\n\nTop-p keeps the nucleus.\n")
    (root / "lora.md").write_text("# LoRA\n\nLow-rank adapters.\n")
    return root


@pytest.fixture(scope="module")
def ext_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ext") / "ext_server.py"
    path.write_text(THIRD_PARTY_SERVER)
    return path


def make_config(docs: Path, ext_script: Path, **options: float) -> ToolsConfig:
    """Our two servers rooted at ``docs`` plus the third-party one, configured through
    the same mcp.json merge a user's file goes through."""
    data = {
        "mcpServers": {"ext": {"command": sys.executable, "args": [str(ext_script)]}},
        "assistant": {"auto_approve": ["ext.pid", "ext.big", "ext.slow", "ext.hang", "ext.fail"]},
    }
    config = build_tools_config(data, [docs], Path("mcp.json"))
    for name, value in options.items():
        setattr(config, name, value)
    return config


def make_hub(tmp_path: Path, config: ToolsConfig) -> ToolHub:
    return ToolHub(config, log_dir=tmp_path / "logs", calls_db=tmp_path / "calls.sqlite3")


@pytest.fixture(scope="module")
def hub(
    docs: Path, ext_script: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ToolHub]:
    with make_hub(tmp_path_factory.mktemp("hub"), make_config(docs, ext_script)) as shared:
        assert shared.start() == []
        yield shared


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def _wait_gone(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        alive = {pid for pid in alive if psutil.pid_exists(pid) and not _is_zombie(pid)}
        time.sleep(0.05)
    return alive


def _is_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


# -- listing and calling ---------------------------------------------------------------------


def test_lists_tools_of_every_server_with_qualified_names(hub: ToolHub) -> None:
    tools = {t.qualified_name: t for t in hub.list_tools()}
    assert {
        "calculator.evaluate",
        "file_lookup.list_files",
        "file_lookup.read_file",
        "file_lookup.search_files",
        "file_lookup.file_info",
        "ext.echo",
        "ext.hang",
    } <= set(tools)
    assert tools["calculator.evaluate"].auto_approved
    assert not tools["ext.echo"].auto_approved
    assert tools["ext.echo"].description == "Return the text unchanged."
    assert tools["ext.echo"].input_schema["properties"]["text"]["type"] == "string"
    assert hub.server_status() == dict.fromkeys(("calculator", "file_lookup", "ext"), "running")


def test_calculator_call(hub: ToolHub) -> None:
    result = hub.call("calculator", "evaluate", {"expression": "12/100*3400"})
    assert result.ok and result.error is None
    assert result.structured is not None and result.structured["display"] == "408"
    assert "408" in result.text and result.prompt_text == result.text
    assert not result.truncated and result.duration_s > 0


def test_file_lookup_reads_the_document_folder(hub: ToolHub) -> None:
    result = hub.call("file_lookup", "read_file", {"path": "decoding.md"})
    assert result.ok
    assert "Top-p keeps the nucleus." in result.text
    found = hub.call("file_lookup", "search_files", {"query": "low-rank"})
    assert found.ok and "lora.md" in found.text


def test_tool_errors_and_unknown_names_come_back_as_results(hub: ToolHub) -> None:
    error = hub.call("calculator", "evaluate", {"expression": "__import__('os')"})
    assert not error.ok and error.error and error.text
    failing = hub.call("ext", "fail", {})
    assert not failing.ok and "always fails" in (failing.error or "")
    outside = hub.call("file_lookup", "read_file", {"path": "../../etc/passwd"})
    assert not outside.ok
    unknown_server = hub.call("nope", "x", {})
    assert not unknown_server.ok and "unknown tool server 'nope'" in unknown_server.text
    unknown_tool = hub.call("calculator", "nope", {})
    assert not unknown_tool.ok and "calculator.nope" in unknown_tool.text
    assert "evaluate" in unknown_tool.text  # says what exists


def test_third_party_server_is_callable(hub: ToolHub) -> None:
    result = hub.call("ext", "echo", {"text": "héllo"}, approve=lambda call: True)
    assert result.ok and result.text == "héllo"


def test_one_megabyte_result_is_capped_for_the_prompt_only(hub: ToolHub) -> None:
    result = hub.call("ext", "big", {"n": 1_000_000})
    assert result.ok and result.truncated
    assert len(result.text) >= 990_000  # the user sees it all
    limit = hub.config.max_result_chars
    assert len(result.prompt_text) <= limit
    assert result.prompt_text.startswith("line of output\n")
    assert "cut" in result.prompt_text.splitlines()[-1]


# -- approval ----------------------------------------------------------------------------------


def test_approval_denied_by_default_and_by_callback(hub: ToolHub) -> None:
    assert hub.needs_approval("ext", "echo")
    assert not hub.needs_approval("calculator", "evaluate")
    asked: list[PlannedCall] = []

    def refuse(call: PlannedCall) -> bool:
        asked.append(call)
        return False

    for approve in (None, refuse):
        result = hub.call("ext", "echo", {"text": "x"}, approve=approve)
        assert (result.ok, result.approved, result.text) == (False, False, "denied by user")
    assert [(c.name, c.arguments) for c in asked] == [("ext.echo", {"text": "x"})]

    def explode(call: PlannedCall) -> bool:
        raise RuntimeError("UI gone")

    assert not hub.call("ext", "echo", {"text": "x"}, approve=explode).approved


def test_approval_granted_and_approve_all(hub: ToolHub) -> None:
    assert hub.call("ext", "echo", {"text": "yes"}, approve=lambda c: True).ok
    hub.approve_all = True
    try:
        assert not hub.needs_approval("ext", "echo")
        assert hub.call("ext", "echo", {"text": "all"}).text == "all"
    finally:
        hub.approve_all = False


def test_every_call_is_recorded(hub: ToolHub) -> None:
    hub.call("calculator", "evaluate", {"expression": "6*7"})
    hub.call("ext", "echo", {"text": "secret"}, approve=lambda c: False)
    rows = (
        sqlite3.connect(hub.calls.path)
        .execute(
            "SELECT server, tool, arguments, outcome, approved, duration_s, error, started_at"
            " FROM tool_calls ORDER BY id DESC LIMIT 2"
        )
        .fetchall()
    )
    denied, ok = rows
    assert ok[:5] == ("calculator", "evaluate", '{"expression": "6*7"}', "ok", 1)
    assert ok[5] > 0 and ok[6] is None and ok[7].endswith("+00:00")
    assert denied[:5] == ("ext", "echo", '{"text": "secret"}', "denied", 0)
    assert denied[6] == "denied by user"
    assert hub.calls.recent(1)[0].outcome == "denied"


# -- failure modes (own hubs: they kill servers) -----------------------------------------------


def test_server_killed_mid_call_reports_and_restarts(
    docs: Path, ext_script: Path, tmp_path: Path
) -> None:
    with make_hub(tmp_path, make_config(docs, ext_script)) as own:
        first_pid = int(own.call("ext", "pid", {}).text)
        outcome: dict[str, object] = {}
        caller = threading.Thread(
            target=lambda: outcome.update(result=own.call("ext", "slow", {"seconds": 60}))
        )
        caller.start()
        time.sleep(1.0)  # let the call reach the server
        psutil.Process(first_pid).kill()
        caller.join(timeout=MARGIN_S)
        assert not caller.is_alive()
        result = outcome["result"]
        assert not result.ok  # type: ignore[attr-defined]
        assert "server ext exited" in result.error  # type: ignore[attr-defined]
        assert own.call("calculator", "evaluate", {"expression": "1+1"}).ok  # others unaffected
        second = own.call("ext", "pid", {})
        assert second.ok and int(second.text) != first_pid
        outcomes = [r.outcome for r in own.calls.recent(10)]
        assert "crashed" in outcomes


def test_hung_server_times_out_within_bound_and_is_replaced(
    docs: Path, ext_script: Path, tmp_path: Path
) -> None:
    with make_hub(tmp_path, make_config(docs, ext_script, call_timeout_s=1.5)) as own:
        hung_pid = int(own.call("ext", "pid", {}).text)
        began = time.monotonic()
        result = own.call("ext", "hang", {})
        elapsed = time.monotonic() - began
        assert not result.ok and "timed out after 1.5 s" in (result.error or "")
        assert 1.4 <= elapsed < 1.5 + MARGIN_S
        assert _wait_gone({hung_pid}, 15.0) == set()  # killed, not left running
        began = time.monotonic()
        assert not own.call("ext", "hang", {}, timeout_s=0.5).ok  # per-call override
        assert time.monotonic() - began < 0.5 + own.config.init_timeout_s + MARGIN_S
        again = own.call("ext", "pid", {})
        assert again.ok and int(again.text) != hung_pid
        assert own.calls.recent(2)[1].outcome == "timeout"


def test_bad_servers_are_reported_by_start_without_raising(
    docs: Path, ext_script: Path, tmp_path: Path
) -> None:
    silent = tmp_path / "silent.py"
    silent.write_text("import time\ntime.sleep(3600)\n")  # never answers initialize
    config = make_config(docs, ext_script)
    config.servers["missing"] = ServerConfig("missing", str(tmp_path / "no-such-binary"))
    config.servers["dies"] = ServerConfig("dies", sys.executable, ("-c", "import sys; sys.exit(3)"))
    config.servers["silent"] = ServerConfig(
        "silent", sys.executable, (str(silent),), init_timeout_s=2.0
    )
    with make_hub(tmp_path, config) as own:
        began = time.monotonic()
        errors = own.start()
        assert time.monotonic() - began < config.init_timeout_s + MARGIN_S
        joined = "\n".join(errors)
        assert len(errors) == 3, errors
        assert "missing: cannot start" in joined
        assert "server dies exited during startup" in joined
        assert "silent: did not initialize within 2 s" in joined
        assert own.call("calculator", "evaluate", {"expression": "2+2"}).ok
        broken = own.call("dies", "anything", {})
        assert not broken.ok and "unavailable" in broken.text


def test_server_stderr_goes_to_a_log_file(docs: Path, tmp_path: Path) -> None:
    noisy = tmp_path / "noisy.py"
    noisy.write_text("import sys\nprint('boom: bad credentials', file=sys.stderr)\nsys.exit(1)\n")
    config = build_tools_config({}, [docs], Path("mcp.json"))
    config.servers = {"noisy": ServerConfig("noisy", sys.executable, (str(noisy),))}
    with make_hub(tmp_path, config) as own:
        errors = own.start()
        assert errors and "boom: bad credentials" in errors[0]
        log = own.log_path("noisy").read_text()
        assert "starting noisy" in log and "boom: bad credentials" in log


def test_close_leaves_no_server_processes(docs: Path, ext_script: Path, tmp_path: Path) -> None:
    before = _children()
    own = make_hub(tmp_path, make_config(docs, ext_script, call_timeout_s=1.0))
    assert own.start() == []
    own.call("ext", "hang", {})  # one server killed on timeout, then restarted below
    assert own.call("ext", "pid", {}).ok
    servers = _children() - before
    assert len(servers) >= 3
    own.close()
    assert _wait_gone(servers, 10.0) == set()
    own.close()  # idempotent
    after = own.call("calculator", "evaluate", {"expression": "1+1"})
    assert not after.ok and "closed" in after.text


def test_interpreter_exit_without_close_leaves_no_server_processes(
    docs: Path, tmp_path: Path
) -> None:
    script = tmp_path / "forgetful.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import psutil
            from pathlib import Path
            from assistant.tools.client import ToolHub
            from assistant.tools.config import build_tools_config

            config = build_tools_config({{}}, [Path({str(docs)!r})], Path("mcp.json"))
            home = Path({str(tmp_path)!r})
            hub = ToolHub(config, log_dir=home, calls_db=home / "c.db")
            assert hub.start() == []
            print(" ".join(str(p.pid) for p in psutil.Process().children(recursive=True)))
            # no close(): the atexit hook must stop the servers
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    pids = {int(pid) for pid in done.stdout.split()}
    assert len(pids) >= 2
    assert _wait_gone(pids, 10.0) == set()


def test_protocol_noise_from_a_server_stays_off_the_terminal(
    docs: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    chatty = tmp_path / "chatty.py"
    chatty.write_text(
        textwrap.dedent(
            """
            from mcp.server.mcpserver import MCPServer
            server = MCPServer(name="chatty")

            @server.tool()
            def shout() -> str:
                "Answers normally."
                return "ok"

            # Before the SDK takes over stdout: a line that is not JSON-RPC.
            print("banner: not JSON-RPC", flush=True)
            server.run("stdio")
            """
        )
    )
    config = build_tools_config({}, [docs], Path("mcp.json"))
    config.servers = {"chatty": ServerConfig("chatty", sys.executable, (str(chatty),))}
    config.auto_approve = {"chatty.shout"}
    with make_hub(tmp_path, config) as own:
        result = own.call("chatty", "shout", {})
    assert result.ok and result.text == "ok"
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
    assert "Failed to parse" in (tmp_path / "logs" / "mcp-client.log").read_text()
