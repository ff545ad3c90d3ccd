"""Training reads a folder exactly as ``assistant index add`` does (issue 16, item 3).

The same scan (suffixes, hidden names, symlinks), the same loaders (md, txt, org, rst, html,
pdf, legacy encodings) and the same reasons for the files it skips; checked against a real
index of the same folder.
"""

from __future__ import annotations

from pathlib import Path

from assistant.rag.indexer import Indexer
from assistant.rag.loaders import load_document
from assistant.training.data import read_documents
from tests.rag_support import rag_settings, tiny_embedder, write_sample_folder
from tests.test_rag_loaders import _pdf

CP1250_TEXT = "Zażółć gęślą jaźń. Pretrenowanie modeli językowych na dużym korpusie tekstu.\n" * 5


def _mixed_folder(root: Path) -> Path:
    """The rag tests' sample notes plus every kind of file a real course folder holds."""
    notes = write_sample_folder(root)
    (notes / "guide.rst").write_text("Tokens\n======\n\nA token is a piece.\n", encoding="utf-8")
    (notes / "slides.pdf").write_bytes(_pdf([["Attention weights sum to one."], ["Page two."]]))
    (notes / "legacy.txt").write_bytes(CP1250_TEXT.encode("cp1250"))
    (notes / "empty.md").write_text("  \n", encoding="utf-8")
    (notes / "blob.md").write_bytes(b"\x89PNG\x00\x00binary")
    (notes / "bad.pdf").write_bytes(b"%PDF-1.4 truncated")
    (notes / "data.json").write_text("{}", encoding="utf-8")
    (notes / ".draft.md").write_text("# Hidden draft\n\nNot for training.\n", encoding="utf-8")
    (notes / ".git").mkdir()
    (notes / ".git" / "HEAD.md").write_text("ref: refs/heads/main\n", encoding="utf-8")
    (notes / "alias.md").symlink_to(notes / "decoding.md")  # one file, two names
    return notes


def test_training_sees_the_files_and_skips_of_the_indexer(tmp_path: Path) -> None:
    notes = _mixed_folder(tmp_path / "docs")
    corpus = read_documents(notes)
    report = Indexer(rag_settings(tmp_path / "index"), embedder=tiny_embedder()).add([notes])

    # The indexer lists a file without text as added (no chunks) and as skipped ("no text").
    textless = {path for path, why in report.skipped if why == "no text"}
    assert sorted(str(d.path) for d in corpus.documents) == sorted(set(report.added) - textless)
    assert sorted((str(p), why) for p, why in corpus.skipped) == sorted(report.skipped)

    names = {d.name for d in corpus.documents}
    assert {"notes/page.html", "notes/slides.pdf", "notes/guide.rst", "notes/legacy.txt"} <= names
    reasons = {p.name: why for p, why in corpus.skipped}
    assert reasons["data.json"] == "unsupported file type"
    assert reasons["empty.md"] == "no text"
    assert reasons["blob.md"].startswith("binary file")
    assert reasons["bad.pdf"].startswith("unreadable PDF")
    assert not any(".draft" in name or ".git" in name for name in names)
    assert len([n for n in names if n in {"notes/decoding.md", "notes/alias.md"}]) == 1


def test_training_text_is_the_loaders_text_at_its_source_lines(tmp_path: Path) -> None:
    notes = _mixed_folder(tmp_path / "docs")
    documents = {d.path.name: d for d in read_documents(notes).documents}

    page = documents["page.html"]
    lines = page.text.split("\n")
    loaded = load_document(notes / "page.html").lines
    assert loaded and all(lines[ln.line - 1] == ln.text for ln in loaded)
    assert "never indexed" not in page.text and "color: red" not in page.text  # script, style

    assert documents["legacy.txt"].text == CP1250_TEXT  # decoded like the indexer decodes it
    markdown = documents["alias.md"]  # the name the sorted scan meets first for decoding.md
    assert markdown.text == (notes / "decoding.md").read_text(encoding="utf-8")
    pdf = documents["slides.pdf"].text
    assert pdf.index("Attention weights sum to one.") < pdf.index("\n\nPage two.")  # page break


def test_the_indexers_size_limit_applies(tmp_path: Path) -> None:
    notes = write_sample_folder(tmp_path / "docs")
    (notes / "big.txt").write_text("word " * 1000, encoding="utf-8")
    corpus = read_documents(notes, max_bytes=1000)
    assert [(p.name, why.split(" (")[0]) for p, why in corpus.skipped] == [("big.txt", "too large")]
