"""Smoke test of benchmarks/generate.py: a tiny run whose JSON has the documented shape.

No timing is asserted (timings belong in the benchmark, not the unit tests).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "generate.py"
CONFIGS = {"engine_fp32", "engine_int8", "hf_generate"}
CT2_CONFIGS = {"ct2_fp32", "ct2_int8"}


def test_tiny_benchmark_json_structure(tmp_path: Path) -> None:
    have_ct2 = importlib.util.find_spec("ctranslate2") is not None
    command = [sys.executable, str(SCRIPT), "--tiny", "--json", "--threads", "1"]
    if not have_ct2:
        command.append("--skip-ct2")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TMPDIR": str(tmp_path)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)  # exactly one JSON document on stdout

    assert report["settings"]["threads"] == 1
    assert report["settings"]["prompt_lengths"] == [8, 16]
    expected = CONFIGS | (CT2_CONFIGS if have_ct2 else set())
    assert report["ct2_note"] == ("ok" if have_ct2 else "skipped")
    for length in ("8", "16"):
        rows = report["results"][length]
        assert set(rows) == expected
        for row in rows.values():
            assert row["tokens_per_s"] > 0 and row["first_token_ms"] > 0
            assert row["cpu_tokens_per_s"] > 0
            assert row["new_tokens"] == report["settings"]["new_tokens"]
        ratios = report["ratios"][length]
        assert ratios["engine_fp32/hf_generate"] > 0
        assert ratios["cpu_time"]["engine_fp32/hf_generate"] > 0
        assert set(ratios["targets_met"]) == {
            "engine_fp32 >= 1.0x hf_generate",
            "engine_fp32 >= 0.8x bandwidth limit",
            "engine_int8 >= 1.0x ct2_int8",
        }
    # Same weights, both greedy: the engine and HF generate agree token for token.
    assert report["engine_fp32_tokens_equal_hf"] is True

    bandwidth = report["bandwidth"]
    assert bandwidth["best_gb_s"] > 0
    weights = bandwidth["weight_bytes_per_token"]
    assert weights["int8"] < weights["fp32"]
    assert bandwidth["limit_tokens_per_s"]["int8"] > bandwidth["limit_tokens_per_s"]["fp32"]

    assert {"threads_1", "threads_2"} <= set(report["threads"])
    kl = report["int8_kl"]
    assert kl["positions"] == 32
    assert math.isfinite(kl["mean_kl_nats"]) and kl["mean_kl_nats"] >= 0


def test_rejects_non_positive_counts() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", "--json", "--repeats", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "must be ≥ 1" in done.stderr


def test_copy_skill_benchmark_reports_every_loss_for_the_bundled_model() -> None:
    script = SCRIPT.parent / "copy_skill.py"
    bundled = SCRIPT.parent.parent / "assistant" / "resources" / "model"
    command = [sys.executable, str(script), str(bundled), "--json", "--examples", "3"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    config = json.loads((bundled / "config.json").read_text(encoding="utf-8"))
    assert report["uniform_loss"] == round(math.log(config["vocab_size"]), 3)
    assert 0 < report["unigram_entropy"] < report["uniform_loss"]
    for key in ("answer_loss_plain", "answer_loss_swapped", "copy_loss_short", "copy_loss_long"):
        assert math.isfinite(report[key]) and report[key] > 0


def test_answer_rate_benchmark_compares_grounding_modes(tmp_path: Path) -> None:
    script = SCRIPT.parent / "answer_rate.py"
    command = [sys.executable, str(script), "--json", "--limit", "6", "--modes", "off,copy"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TMPDIR": str(tmp_path)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["n"] == 6 and report["mode"] == "gold passage"
    off, copy = report["results"]["off"], report["results"]["copy"]
    for result in (off, copy):
        assert result["ceiling"] == 6  # the gold passage holds the answer phrase
        assert len(result["outcomes"]) == 6 and result["tokens_per_s"] > 0
        hits = sum(o["correct"] for o in result["outcomes"])
        assert result["answers_with_phrase"] == hits
    # The bundled model copies the answer from its passage only with grounding.
    assert copy["answers_with_phrase"] > off["answers_with_phrase"]
    assert copy["faithfulness"] > off["faithfulness"]


def test_router_benchmark_reports_dev_and_heldout_confusion_separately() -> None:
    script = SCRIPT.parent / "router.py"
    command = [sys.executable, str(script), "--json", "--show-misses", "dev"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert set(report["sets"]) == {"dev", "heldout"}
    for name, modes in report["sets"].items():
        result = modes["rules"]  # --embedder adds an "embedder" row
        confusion = result["confusion"]
        assert set(confusion) == {
            "correct_call", "wrong_call", "missed", "correct_abstain", "false_call"
        }  # fmt: skip
        assert sum(confusion.values()) == result["messages"] >= 100
        correct = confusion["correct_call"] + confusion["correct_abstain"]
        assert result["correct"] == correct and result["accuracy"] == round(
            correct / result["messages"], 4
        )
        # Misses are listed only for the set asked for: the held-out set is not for tuning.
        assert ("misses" in result) == (name == "dev")
