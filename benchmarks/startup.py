"""Launch-to-interactive time of the chat app against a bare Textual app, in one run.

Each sample is a fresh interpreter (headless Textual driver) timed from just before the
process is spawned to the app's Ready event: the first frame is drawn and the input has
focus, so keys are accepted. Variants, interleaved so background load hits them alike:

- ``bare``: a Textual App with an input and a footer (the floor any Textual app pays);
- ``app``: ``assistant.tui.build_app`` over the real ChatSession factory (its model, index
  and tool servers load afterwards, in a thread worker, so they are not waited for);
- ``cli``: the same through ``assistant.cli`` (what ``assistant chat`` runs), which also
  imports every command module.

    .venv/bin/python benchmarks/startup.py --json [--runs 5]

The figure to read is ``app.ratio_to_bare`` (and ``cli``'s): medians, same machine, same run.
Timings are wall-clock on a shared machine: compare ratios within one run, not runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("bare", "app", "cli")
TARGET_SECONDS = 1.0


def child(variant: str, started: float) -> None:
    """Runs in the spawned interpreter: build the app, report time-to-Ready, leave."""
    sys.path.insert(0, str(ROOT))
    from textual import events
    from textual.app import App

    if variant == "bare":
        from textual.app import ComposeResult
        from textual.widgets import Footer, Input

        class Bare(App[None]):
            def compose(self) -> ComposeResult:
                yield Input()
                yield Footer()

        app: App[None] = Bare()
    else:
        if variant == "cli":
            import assistant.cli  # noqa: F401  (the CLI's own import cost)
        from assistant.settings import load_settings
        from assistant.tui import build_app

        app = build_app(load_settings())

    def on_ready(self: App[None], _: events.Ready) -> None:
        print(json.dumps({"seconds": time.time() - started}), flush=True)
        os._exit(0)  # do not wait for the session still loading in its worker thread

    # Handlers are looked up on the class: time the very app build_app made, via a subclass.
    app.__class__ = type("Timed", (type(app),), {"on_ready": on_ready})
    app.run(headless=True, size=(120, 40))


def sample(variant: str, env: dict[str, str]) -> float:
    started = time.time()
    out = subprocess.run(
        [sys.executable, __file__, "--child", variant, repr(started)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("started", nargs="?", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.started)
        return
    home = tempfile.mkdtemp(prefix="startup-home-")
    env = {**os.environ, "ASSISTANT_HOME": home, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    sample("bare", env)  # warm the OS file cache once, uncounted
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for _ in range(args.runs):
        for variant in VARIANTS:
            times[variant].append(sample(variant, env))
    bare = statistics.median(times["bare"])
    result: dict[str, Any] = {
        "benchmark": "startup",
        "measure": "seconds from process spawn to the app's Ready event (headless)",
        "runs": args.runs,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "target_seconds": TARGET_SECONDS,
    }
    for variant in VARIANTS:
        median = statistics.median(times[variant])
        result[variant] = {
            "median_s": round(median, 3),
            "min_s": round(min(times[variant]), 3),
            "samples_s": [round(t, 3) for t in times[variant]],
            "ratio_to_bare": round(median / bare, 2),
            "within_target": median <= TARGET_SECONDS,
        }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for variant in VARIANTS:
            r = result[variant]
            print(f"{variant:5} median {r['median_s']:.3f} s  ×{r['ratio_to_bare']:.2f} bare")


if __name__ == "__main__":
    main()
