"""Helpers shared by the rag tests: a cached tiny embedder, settings, sample folders."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any

from assistant.rag.embedder import Embedder
from assistant.settings import Settings, load_settings
from tests.rag_tiny import build_tiny_embedder

REPO_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = REPO_ROOT.parent / "shared" / "course-seeds"


@functools.lru_cache(maxsize=1)
def tiny_embedder_path() -> Path:
    """Built once per test process (a second or two), then reused by every test."""
    return build_tiny_embedder(Path(tempfile.mkdtemp(prefix="tiny-st-")))


@functools.lru_cache(maxsize=1)
def other_tiny_embedder_path() -> Path:
    """A second tiny embedder (other weights, other path): "another model" for the index."""
    return build_tiny_embedder(Path(tempfile.mkdtemp(prefix="tiny-st-other-")), seed=1)


@functools.lru_cache(maxsize=1)
def tiny_embedder() -> Embedder:
    return Embedder(str(tiny_embedder_path()))


def rag_settings(index_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"index_dir": index_dir, "embed_model": str(tiny_embedder_path())}
    values.update(overrides)
    return load_settings(values)


SAMPLE_FILES = {
    "notes/decoding.md": (
        "# Decoding\n\nGreedy decoding picks the most probable token at every step.\n\n"
        "## Beam search\n\nBeam search keeps the best partial sequences.\n"
    ),
    "notes/cities.txt": "Warsaw is the capital city of Poland.\nKraków is an old city.\n",
    "notes/outline.org": "* Attention\nQueries, keys and values.\n** Heads\nMany heads.\n",
    "notes/page.html": (
        "<html><head><title>t</title><style>p {color: red}</style></head>\n<body>\n"
        "<h1>Embeddings</h1>\n<p>Embeddings map text to vectors.</p>\n"
        "<script>var hidden = 'never indexed';</script>\n</body></html>\n"
    ),
    "notes/chinese.txt": "機器學習是人工智慧的一個分支。\n注意力機制使用查詢、鍵和值。\n",
}


def write_sample_folder(root: Path) -> Path:
    for rel, text in SAMPLE_FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "notes"
