"""MCP config: Claude-Desktop-style mcp.json merged over our calculator and file lookup."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from assistant.errors import SettingsError
from assistant.settings import load_settings
from assistant.tools.config import (
    ServerConfig,
    ToolsConfig,
    file_lookup_roots,
    load_tools_config,
    served_roots,
)


def _write(settings_home: Path, data: object) -> Path:
    path = settings_home / "config" / "mcp.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_defaults_without_a_file(tmp_path: Path) -> None:
    docs = tmp_path / "notes"
    docs.mkdir()
    config = load_tools_config(load_settings({"documents": [docs, tmp_path]}))
    assert set(config.servers) == {"calculator", "file_lookup"}
    calc, files = config.servers["calculator"], config.servers["file_lookup"]
    assert (calc.command, calc.args) == (sys.executable, ("-m", "mcp_servers.calculator"))
    # every document folder is served, each named by its folder (issue 18.3: not only the first)
    assert files.args == (
        "-m",
        "mcp_servers.file_lookup",
        "--root",
        f"notes={docs.resolve()}",
        "--root",
        f"{tmp_path.name}={tmp_path.resolve()}",
    )
    assert (config.init_timeout_s, config.call_timeout_s) == (10.0, 15.0)
    assert config.max_calls_per_turn == 3 and config.max_result_chars == 4000
    assert config.auto_approve == {
        "calculator.evaluate",
        "file_lookup.list_files",
        "file_lookup.read_file",
        "file_lookup.search_files",
        "file_lookup.file_info",
    }


def test_file_lookup_defaults_to_the_corpus() -> None:
    settings = load_settings()  # documents default to <repo>/corpus
    root = load_tools_config(settings).servers["file_lookup"].args[-1]
    assert Path(root).name == "corpus"


def test_one_document_folder_is_served_as_a_plain_root(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("a\n")
    files = load_tools_config(load_settings({"documents": [docs, docs / "a.md"]}))
    assert files.servers["file_lookup"].args[2:] == ("--root", str(docs.resolve()))


def test_every_document_folder_gets_a_unique_name(tmp_path: Path) -> None:
    base = tmp_path.resolve()
    first, second, third = base / "a" / "notes", base / "b" / "notes", base / "my lab"
    for folder in (first, second, third):
        folder.mkdir(parents=True)
    (third / "x.md").write_text("x\n")
    loose_file = third / "x.md"  # a document file: its folder is served
    missing = tmp_path / "gone"  # not there: skipped
    roots = file_lookup_roots([first, missing, second, loose_file, first])
    assert roots == {"notes": first, "notes-2": second, "my-lab": third}
    config = load_tools_config(load_settings({"documents": [first, second, third]}))
    assert served_roots(config.servers["file_lookup"]) == [
        ("notes", str(first)),
        ("notes-2", str(second)),
        ("my-lab", str(third)),
    ]
    plain = ServerConfig("file_lookup", "python", ("-m", "mcp_servers.file_lookup", "--root=/a=b"))
    assert served_roots(plain) == [(None, "/a=b")]  # '/a' is no name: the whole is a folder
    assert served_roots(config.servers["calculator"]) is None
    other = ServerConfig("file_lookup", "npx", ("some-files", "--root", "/x"))
    assert served_roots(other) is None  # not our module: its arguments mean something else


def test_user_servers_and_options_merge_over_defaults(isolated_home: Path) -> None:
    path = _write(
        isolated_home,
        {
            "mcpServers": {
                "weather": {
                    "command": "uvx",
                    "args": ["mcp-weather", "--units", "metric"],
                    "env": {"API_KEY": "k"},
                    "cwd": "servers",
                    "timeout_s": 30,
                    "type": "stdio",  # other clients' keys are tolerated
                },
                "calculator": {"disabled": True},
            },
            "assistant": {
                "auto_approve": ["weather.forecast"],
                "require_approval": ["file_lookup.read_file"],
                "call_timeout_s": 20,
                "max_result_chars": 2000,
            },
        },
    )
    config = load_tools_config(load_settings())
    assert set(config.servers) == {"file_lookup", "weather"}
    weather = config.servers["weather"]
    assert weather.args == ("mcp-weather", "--units", "metric")
    assert weather.env == {"API_KEY": "k"}
    assert weather.cwd == path.parent / "servers"  # relative to the config file
    assert config.call_timeout("weather") == 30 and config.call_timeout("file_lookup") == 20
    assert config.init_timeout("weather") == 10
    assert config.max_result_chars == 2000
    assert config.is_auto_approved("weather", "forecast")
    assert not config.is_auto_approved("file_lookup", "read_file")
    assert config.is_auto_approved("file_lookup", "search_files")
    assert not any(name.startswith("calculator.") for name in config.auto_approve)


def test_replacing_one_of_our_servers_keeps_or_drops_its_approvals(isolated_home: Path) -> None:
    _write(
        isolated_home,
        {
            "mcpServers": {
                # still our module, another root: our read-only tools stay approved
                "file_lookup": {
                    "command": "python3",
                    "args": ["-m", "mcp_servers.file_lookup", "--root", "/srv/notes"],
                },
                # something else under our name: nothing is approved without asking
                "calculator": {"command": "npx", "args": ["some-calculator"]},
            }
        },
    )
    config = load_tools_config(load_settings())
    assert config.servers["file_lookup"].args[-1] == "/srv/notes"
    assert config.is_auto_approved("file_lookup", "read_file")
    assert not config.is_auto_approved("calculator", "evaluate")


def test_wildcard_approval() -> None:
    config = ToolsConfig(auto_approve={"ext.*"})
    assert config.is_auto_approved("ext", "anything")
    assert not config.is_auto_approved("other", "anything")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "cannot read MCP config"),
        ("[1, 2]", "JSON object"),
        ({"mcpServers": []}, "'mcpServers' must be an object"),
        ({"mcpServers": {"x": {"args": []}}}, "server 'x': command"),
        ({"mcpServers": {"x": {"command": "a", "timeout_s": -1}}}, "timeout_s"),
        ({"mcpServers": {"a.b": {"command": "a"}}}, "no dots"),
        ({"assistant": {"call_timeout_s": "soon"}}, "assistant.call_timeout_s"),
        ({"assistant": {"unknown_option": 1}}, "assistant.unknown_option"),
    ],
)
def test_bad_files_raise_settings_errors_naming_the_file(
    isolated_home: Path, content: object, fragment: str
) -> None:
    path = _write(isolated_home, content)
    with pytest.raises(SettingsError) as caught:
        load_tools_config(load_settings())
    assert fragment in str(caught.value)
    assert str(path) in str(caught.value)
    assert caught.value.exit_code == 2


def test_url_servers_use_streamable_http_with_headers_from_the_environment(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COURSE_TOKEN", "t0k3n")
    monkeypatch.setenv("TEAM", "ml")
    _write(
        isolated_home,
        {
            "mcpServers": {
                "remote": {
                    "url": "http://127.0.0.1:8931/mcp",
                    "headers": {"Authorization": "Bearer ${COURSE_TOKEN}", "X-Team": "${env:TEAM}"},
                    "timeout_s": 5,
                    "type": "http",  # other clients' transport hint is tolerated
                },
                # our calculator reached over HTTP: nothing is approved without asking
                "calculator": {"url": "https://tools.example.org/calc"},
            }
        },
    )
    config = load_tools_config(load_settings())
    remote = config.servers["remote"]
    assert remote.transport == "streamable-http" and remote.url == "http://127.0.0.1:8931/mcp"
    assert remote.headers == {"Authorization": "Bearer t0k3n", "X-Team": "ml"}
    assert (remote.command, remote.args) == ("", ())
    assert config.call_timeout("remote") == 5 and config.init_timeout("remote") == 10
    assert config.servers["file_lookup"].transport == "stdio"
    assert not config.is_auto_approved("calculator", "evaluate")
    assert served_roots(config.servers["calculator"]) is None


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"command": "a", "url": "http://h/mcp"}, 'has both "command" and "url"'),
        ({"command": "a", "headers": {"A": "b"}}, '"headers" only apply to a server with a "url"'),
        ({"url": "ftp://h/mcp"}, "must be an http:// or https:// address"),
        ({"url": "http:///mcp"}, "must be an http:// or https:// address"),
        ({"url": "http://h:port/mcp"}, "is not a valid URL"),
        ({"url": "http://h/mcp", "type": "sse"}, "not supported"),
        (
            {"url": "http://h/mcp", "headers": {"A": "${NOT_SET_ANYWHERE}"}},
            "NOT_SET_ANYWHERE is not set",
        ),
        ({"url": "http://h/mcp", "headers": {"A": "${lower case}"}}, "is not a variable reference"),
        ({"url": "http://h/mcp", "headers": {"A": "${UNCLOSED"}}, "is not a variable reference"),
        ({"url": "http://h/mcp", "headers": {"Bad Name": "x"}}, "not a valid HTTP header name"),
        ({"url": "http://h/mcp", "headers": {"A": 3}}, "headers.A"),
    ],
)
def test_bad_url_entries_are_one_line_config_errors(
    isolated_home: Path, entry: dict[str, object], fragment: str
) -> None:
    path = _write(isolated_home, {"mcpServers": {"remote": entry}})
    with pytest.raises(SettingsError) as caught:
        load_tools_config(load_settings())
    message = str(caught.value)
    assert fragment in message and "server 'remote'" in message and str(path) in message
    assert "\n" not in message


def test_disabled_url_server_is_dropped(isolated_home: Path) -> None:
    _write(isolated_home, {"mcpServers": {"remote": {"url": "http://h/mcp", "disabled": True}}})
    assert "remote" not in load_tools_config(load_settings()).servers
