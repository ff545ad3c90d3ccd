"""Library warnings (transformers, peft, huggingface_hub …) go to a log file, not the terminal.

A deprecation notice from a dependency is not something a student can act on, and printed over
the chat or an answer it reads as our error. Python's warning machinery is redirected once per
process at the CLI edge; anything a user should see is printed by us with our own prefix.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TextIO

LOG_NAME = "library-warnings.log"


def route_library_warnings(log_dir: Path) -> Path:
    """Send ``warnings.warn`` output to ``log_dir/library-warnings.log``; returns the path.

    The usual filters still decide what is shown (once per location by default); only where it
    is written changes. A warning written to an explicit file keeps going there.
    """
    path = log_dir / LOG_NAME
    original = warnings.showwarning

    def to_log(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if file is not None:
            original(message, category, filename, lineno, file, line)
            return
        text = warnings.formatwarning(message, category, filename, lineno, line)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8", errors="replace") as fh:
                fh.write(text)
        except OSError:
            pass  # an unwritable log directory must not turn a warning into a crash

    warnings.showwarning = to_log
    return path
