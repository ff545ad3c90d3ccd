"""The document files the router may name: as the file lookup server's paths give them."""

from __future__ import annotations

import os
from pathlib import Path

MAX_KNOWN_FILES = 5000  # file names offered to the router; a huge folder is cut here


def document_files(documents: list[Path]) -> list[str]:
    """Files as the file lookup names them: relative to its root, or, when it serves
    several, prefixed with the root's name."""
    try:
        from assistant.tools.config import file_lookup_roots

        roots = file_lookup_roots(list(documents))
    except ImportError:  # pragma: no cover - the tools package is part of the project
        return []
    found: list[str] = []
    for root_name, root in roots.items():
        prefix = Path(root_name) if len(roots) > 1 else Path()
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if not name.startswith("."):
                    found.append(str(prefix / (Path(folder) / name).relative_to(root)))
                    if len(found) >= MAX_KNOWN_FILES:
                        return found
    return found
