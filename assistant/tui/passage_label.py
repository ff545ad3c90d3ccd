"""How a retrieved passage is named on screen: its prompt label (``path:start-end``), which
token provenance also uses, so a copied token can be matched to its passage."""

from __future__ import annotations

from typing import Any


def passage_label(passage: Any) -> str:
    source = getattr(passage, "source", None) or (
        f"{passage.path}:{passage.start_line}-{passage.end_line}"
    )
    return str(source)
