"""``/tokens TEXT``: tokenize in a thread worker, then put the view in the log."""

from __future__ import annotations

import time
from typing import Any

from assistant.tui.widgets.tokens_view import TokenizationView


def show_tokenization(app: Any, text: str) -> None:
    """Tokenize ``text`` with the loaded model's tokenizer off the event loop."""
    engine = app.engine_or_notice()
    if engine is None:
        return

    def work() -> None:
        from assistant.core.tokenization import tokenize
        from assistant.errors import AssistantError

        started = time.perf_counter()
        try:
            result = tokenize(engine.tokenizer, text, engine.context_length)
        except AssistantError as exc:
            app.call_from_thread(app.notify, str(exc), severity="error", markup=False)
            return
        view = TokenizationView(result, engine.name, time.perf_counter() - started)
        app.call_from_thread(app.mount_in_log, view)

    app.run_worker(work, thread=True, group="tokenize")
