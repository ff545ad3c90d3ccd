"""Smoke test of benchmarks/lean_forward.py: a tiny run whose JSON has the documented keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "lean_forward.py"


def test_tiny_run_reports_rates_ratios_and_equal_tokens() -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", "--json", "--skip-ct2"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=True,
    )
    report = json.loads(done.stdout)
    assert report["settings"]["threads"] == 1
    for label in ("gpt2_small", "bundled"):
        row = report[label]
        for name in ("hf", "lean_torch", "lean"):
            assert row[f"{name}_tok_s"] > 0 and row["prefill_ms"][name] > 0
        assert row["ratios"]["lean/hf"] > 0
        # Same weights, both greedy: the lean forward and HF's pick the same tokens.
        assert row["lean_tokens_equal_hf"] and row["lean_torch_tokens_equal_hf"]
    kernels = report["gpt2_small"]["kernels"]
    assert kernels["block_projections_addmm_ms"] > 0 and kernels["lm_head_F.linear_ms"] > 0
