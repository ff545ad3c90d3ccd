"""Readable names of indexed documents: ``<folder>/<path inside it>``, as citations show them.

A document is named by the folder it was indexed from and its path inside that folder
(``corpus/decoding.md``), not by its absolute path: that is what people read in citations and
what stays the same on another machine. Two indexed folders with the same name are told apart
by their absolute paths instead, and a file indexed on its own keeps its absolute path. The
chat, ``assistant ask``, ``index search`` and the course search server all use these names,
so a citation can be handed to the server's ``read_passage`` as it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import PurePosixPath


class DocumentNames:
    """Absolute document paths ↔ their readable names, for one generation of the index."""

    def __init__(self, documents: Iterable[tuple[str, str]]) -> None:
        """``documents``: (absolute path, the indexed folder it was found under) pairs."""
        pairs = list(documents)
        labels = Counter(PurePosixPath(root).name for root in {root for _, root in pairs})
        self._by_path: dict[str, str] = {}
        for path, root in pairs:
            self._by_path[path] = _name(path, root, unique=labels[PurePosixPath(root).name] == 1)
        self._by_name = {name: path for path, name in self._by_path.items()}

    def name_of(self, path: str) -> str:
        return self._by_path.get(path, path)

    def path_of(self, name: str) -> str | None:
        """The document a name (or an absolute path) refers to, or None."""
        if name in self._by_path:
            return name
        return self._by_name.get(name)


def _name(path: str, root: str, *, unique: bool) -> str:
    folder, inside = PurePosixPath(root), PurePosixPath(path)
    if not folder.name or inside == folder or not inside.is_relative_to(folder):
        return path  # a file indexed on its own, or the filesystem root: its absolute path
    base = PurePosixPath(folder.name) if unique else folder
    return str(base / inside.relative_to(folder))
