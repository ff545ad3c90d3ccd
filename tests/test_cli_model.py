"""The model commands end to end through the console entry point (in-process and subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_probs_json_is_one_document_with_sorted_probabilities(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path
) -> None:
    code, out, _ = run_cli(
        capsys,
        "probs",
        "Warsaw is the capital city of",
        "--k",
        "5",
        "--model",
        str(tiny_model_dir),
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    probs = [t["prob"] for t in data["tokens"]]
    assert len(probs) == 5 and probs == sorted(probs, reverse=True)
    assert data["fallback"] is False


def test_generate_json_reports_steps_and_settings(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path
) -> None:
    code, out, _ = run_cli(
        capsys,
        "generate",
        "Beam search keeps",
        "--model",
        str(tiny_model_dir),
        "--json",
        "--strategy",
        "sample",
        "--seed",
        "5",
        "--top-k",
        "4",
        "--max-new-tokens",
        "6",
        "--top-logprobs",
        "3",
    )
    assert code == 0
    data = json.loads(out)
    assert data["settings"]["top_k"] == 4 and data["settings"]["seed"] == 5
    assert len(data["steps"]) == data["generated_tokens"] <= 6
    assert all(len(step["top"]) == 3 and step["rank"] <= 4 for step in data["steps"])
    assert data["text"] == "".join(step["text"] for step in data["steps"])


def test_score_json(capsys: pytest.CaptureFixture[str], tiny_model_dir: Path) -> None:
    code, out, _ = run_cli(
        capsys, "score", "Warsaw is the capital", "--model", str(tiny_model_dir), "--json"
    )
    data = json.loads(out)
    assert code == 0 and data["perplexity"] > 1 and len(data["tokens"]) >= 3


def test_invalid_setting_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path
) -> None:
    code, out, err = run_cli(
        capsys, "generate", "hi", "--model", str(tiny_model_dir), "--top-p", "2"
    )
    assert code == 2 and out == ""
    assert err.strip() == "error: invalid decoding setting 'top_p': must be > 0 and ≤ 1 (got 2.0)"


def test_empty_prompt_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path
) -> None:
    code, _, err = run_cli(capsys, "generate", "  ", "--model", str(tiny_model_dir))
    assert code == 2 and err.startswith("error: empty prompt")


def test_unknown_model_fails_without_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ASSISTANT_ALLOW_FALLBACK": "false"}
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", "probs", "hello", "--model", "no-such-org/no-model"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "error: cannot load model 'no-such-org/no-model'"
    )
    assert "Traceback" not in proc.stderr


def test_models_lists_presets_and_fallback(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "models", "--json")
    data = json.loads(out)
    assert code == 0
    assert {"gpt2", "distilgpt2", "gpt2-xl", "dialogpt-small"} <= {
        p["name"] for p in data["presets"]
    }
    assert all(p["cached"] is False for p in data["presets"])  # the test HF cache is empty
    assert "path" in data["fallback"]
