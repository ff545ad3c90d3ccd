"""Library warnings reach the log file, never the user's terminal (issue: no library noise)."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

from assistant.cli.library_warnings import LOG_NAME, route_library_warnings
from tests.test_ask_cli import env  # noqa: F401  (the fixture: tiny model, docs, tmp home)

# What `ask` itself writes to stderr: prefixed notices and the closing statistics line.
OUR_LINE = re.compile(r"^(info|warning|error|note): |^\[\d+ tokens, finish: ")


def test_a_library_warning_goes_to_the_log_file_not_stderr(tmp_path: Path, capsys: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        path = route_library_warnings(tmp_path / "logs")
        warnings.warn("`past_key_values` is deprecated", FutureWarning, stacklevel=1)
    assert path == tmp_path / "logs" / LOG_NAME
    logged = path.read_text(encoding="utf-8")
    assert "FutureWarning: `past_key_values` is deprecated" in logged
    assert "deprecated" not in capsys.readouterr().err  # type: ignore[attr-defined]


def test_ask_writes_only_our_own_lines_to_stderr(env: dict[str, str]) -> None:  # noqa: F811
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant",
            "ask",
            "What does nucleus sampling keep?",
            "--max-new-tokens",
            "8",
        ],
        env={**env, "PYTHONWARNINGS": "always"},  # every warning a library raises, not once
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines, "ask prints its statistics line to stderr"
    foreign = [line for line in lines if not OUR_LINE.match(line)]
    assert foreign == [], foreign


def test_decoding_uses_the_current_cache_argument(tiny_model_dir: Path) -> None:
    from assistant.core import DecodingSettings, Engine

    engine = Engine.load(str(tiny_model_dir), allow_fallback=False, threads=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        engine.generate("The model", DecodingSettings(max_new_tokens=4))
    assert [str(w.message) for w in caught if issubclass(w.category, FutureWarning)] == []
