"""A remote model whose server is dead (connection refused), slow (sleeps past the client's
timeout) or garbage-speaking (HTML instead of JSON): one clear line each, from the engine,
the CLI and the chat, and the chat goes on. Real sockets on 127.0.0.1; no llama.cpp needed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from assistant.chat.events import TurnDone, TurnError
from assistant.chat.session import ChatSession
from assistant.cli import main
from assistant.core.decoding import DecodingSettings
from assistant.core.engine_factory import engine_from_settings
from assistant.core.openai_client import RemoteServerError
from assistant.core.remote_engine import RemoteEngine
from tests.chat_support import chat_settings, of_type, write_docs
from tests.remote_support import bad_server, dead_port

FAST = DecodingSettings(max_new_tokens=4, top_logprobs=2)


def one_line(error: BaseException) -> str:
    text = str(error)
    assert text and "\n" not in text and "Traceback" not in text
    return text


def test_dead_server_is_connection_refused() -> None:
    url = f"http://127.0.0.1:{dead_port()}"
    with pytest.raises(RemoteServerError) as info:
        RemoteEngine.from_name(f"openai:{url}/v1#gpt2", timeout=2)
    text = one_line(info.value)
    assert url in text and "connection refused" in text


def test_slow_server_times_out_within_the_timeout() -> None:
    with bad_server("slow", delay=3.0) as url:
        started = time.monotonic()
        with pytest.raises(RemoteServerError) as info:
            RemoteEngine.from_name(f"openai:{url}/v1#gpt2", timeout=0.5)
        elapsed = time.monotonic() - started
    assert "timed out" in one_line(info.value) and url in str(info.value)
    assert elapsed < 2.5  # the client gave up; it did not wait for the answer


def test_garbage_server_is_not_json() -> None:
    with bad_server("garbage") as url, pytest.raises(RemoteServerError) as info:
        RemoteEngine.from_name(f"openai:{url}/v1#gpt2", timeout=2)
    text = one_line(info.value)
    assert "not JSON" in text and "502 Bad Gateway" in text


def test_factory_routes_openai_names_to_the_remote_engine(tmp_path: Path) -> None:
    settings = chat_settings(
        tmp_path, tmp_path, tmp_path, model=f"openai:http://127.0.0.1:{dead_port()}/v1#m"
    )
    with pytest.raises(RemoteServerError):  # never the bundled fallback
        engine_from_settings(settings)


def test_cli_reports_a_dead_server_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    port = dead_port()
    code = main(["probs", "hello", "--model", f"openai:http://127.0.0.1:{port}/v1#gpt2"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the model server")


def test_cli_reports_a_malformed_remote_name_as_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["probs", "hello", "--model", "openai:ftp://x/v1#m"])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith("error: invalid remote model")


def test_chat_with_a_dead_server_fails_the_turn_and_goes_on(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{dead_port()}"
    settings = chat_settings(
        tmp_path / "home", tmp_path, write_docs(tmp_path / "docs"), model=f"openai:{url}/v1#m"
    )
    session = ChatSession(settings)
    try:
        for _ in range(2):  # the engine is not cached broken: each turn tries again
            events = list(session.turn("what is greedy decoding?", decoding=FAST, use_tools=False))
            (error,) = of_type(events, TurnError)
            assert error.stage == "generation" and "connection refused" in error.message
            assert not of_type(events, TurnDone)
    finally:
        session.close()
