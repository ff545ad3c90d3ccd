"""Training data: read a folder of documents, split it, and pack token ids into blocks.

Documents are found and read by the retrieval code (``rag.scan``, ``rag.loaders``), so
training sees exactly the files and text that indexing the same folder would.

The held-out split is made per paragraph from a hash of its text, so it does not depend on
file order or on the number of files, and the same folder always gives the same split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import DataError
from assistant.rag.loaders import (
    DEFAULT_MAX_BYTES,
    SUPPORTED_SUFFIXES,
    LoadedDocument,
    LoadError,
    load_document,
)
from assistant.rag.scan import absolute, scan

IGNORE_INDEX = -100  # label value the loss skips (prompt tokens, padding)


@dataclass(frozen=True)
class Document:
    path: Path  # as found under the data folder
    name: str  # path relative to the folder's parent, e.g. "corpus/decoding.md"
    text: str


@dataclass
class Corpus:
    documents: list[Document]
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (file, reason)

    @property
    def total_bytes(self) -> int:
        return sum(len(d.text.encode("utf-8")) for d in self.documents)


@dataclass(frozen=True)
class Split:
    train: list[Document]  # documents with the held-out paragraphs removed
    heldout: list[str]  # held-out paragraphs, one string each


@dataclass(frozen=True)
class Block:
    """One training sequence: token ids and labels (IGNORE_INDEX where no loss is taken).

    ``positions`` restart at 0 for every example packed into the block; transformers then
    masks attention between the examples, so each one is seen exactly as at inference.
    ``None`` means one running sequence (0, 1, 2, ...).
    """

    input_ids: list[int]
    labels: list[int]
    positions: list[int] | None = None


def read_documents(folder: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Corpus:
    """Read every document under ``folder`` exactly as ``assistant index add`` would: the same
    scan (supported suffixes, hidden names skipped, symlinks followed safely) and the same
    loaders. Bad files are skipped and reported with the indexer's reasons, not fatal."""
    if not folder.exists():
        raise DataError(f"data folder {folder} does not exist")
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder")
    root = absolute(folder)
    found = scan([root])
    corpus = Corpus(documents=[], skipped=[(Path(p), why) for p, why in found.skipped])
    for path in found.files:
        try:
            text = document_text(load_document(path, max_bytes=max_bytes))
        except LoadError as exc:
            corpus.skipped.append((path, exc.reason))
            continue
        if not text.strip():
            corpus.skipped.append((path, "no text"))
            continue
        name = (Path(root.name) / path.relative_to(root)).as_posix()
        corpus.documents.append(Document(path=path, name=name, text=text))
    if not corpus.documents:
        detail = ""
        if corpus.skipped:
            first, reason = corpus.skipped[0]
            detail = f" ({len(corpus.skipped)} files skipped; {first.name}: {reason})"
        suffixes = " ".join(sorted(SUPPORTED_SUFFIXES))
        raise DataError(
            f"no usable documents in {folder}{detail}; expected files ending in {suffixes}"
        )
    return corpus


def document_text(document: LoadedDocument) -> str:
    """The loaded lines as one text, each on its own source line number.

    Lines the loader dropped (HTML markup, blank lines) come back as empty lines, so
    paragraphs split where the source had a gap and a passage's line range is the one the
    retriever cites. PDF pages restart their numbering and are set apart by a blank line.
    """
    lines: list[str] = []
    page_start = 0  # index in ``lines`` of the current page's line 1
    page = document.lines[0].page if document.lines else None
    for item in document.lines:
        if item.page != page:
            page = item.page
            lines.append("")
            page_start = len(lines)
        lines.extend([""] * (page_start + item.line - 1 - len(lines)))
        lines.append(item.text)
    return "\n".join(lines) + "\n"


def paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, stripped, without empty ones."""
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def _is_heldout(document: Document, paragraph: str, fraction: float) -> bool:
    digest = hashlib.sha256(f"{document.name}\n{paragraph}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def split_heldout(corpus: Corpus, fraction: float = 0.1) -> Split:
    """Hold out about ``fraction`` of the body paragraphs (headings always stay in training).

    A folder too small to give any held-out paragraph holds out the last paragraph of the
    longest document, so perplexity is always measured on unseen text.
    """
    train: list[Document] = []
    heldout: list[str] = []
    for doc in corpus.documents:
        kept = []
        for para in paragraphs(doc.text):
            if not para.startswith("#") and _is_heldout(doc, para, fraction):
                heldout.append(para)
            else:
                kept.append(para)
        train.append(Document(path=doc.path, name=doc.name, text="\n\n".join(kept) + "\n"))
    if not heldout:
        longest = max(range(len(train)), key=lambda i: len(train[i].text))
        paras = paragraphs(train[longest].text)
        if len(paras) >= 2:
            heldout.append(paras[-1])
            doc = train[longest]
            train[longest] = Document(doc.path, doc.name, "\n\n".join(paras[:-1]) + "\n")
    if not heldout:
        raise DataError("the documents are too small to hold out any text for evaluation")
    return Split(train=train, heldout=heldout)


def token_stream(
    texts: Iterable[str], encode: Callable[[str], list[int]], eos_id: int
) -> list[int]:
    """Concatenate the token ids of ``texts``, each followed by end-of-text."""
    ids: list[int] = []
    for text in texts:
        ids.extend(encode(text))
        ids.append(eos_id)
    return ids


def pack_stream(ids: Sequence[int], block_size: int, pad_id: int, min_tail: int = 8) -> list[Block]:
    """Cut a token stream into blocks; a short tail is padded (padding takes no loss)."""
    blocks: list[Block] = []
    for start in range(0, len(ids), block_size):
        chunk = list(ids[start : start + block_size])
        if len(chunk) < block_size:
            if len(chunk) < min_tail and blocks:
                break
            labels = chunk + [IGNORE_INDEX] * (block_size - len(chunk))
            chunk = chunk + [pad_id] * (block_size - len(chunk))
            blocks.append(Block(chunk, labels))
        else:
            blocks.append(Block(chunk, list(chunk)))
    return blocks


def pack_examples(
    examples: Iterable[tuple[list[int], list[int]]], block_size: int, pad_id: int
) -> tuple[list[Block], int]:
    """Pack (input_ids, labels) examples whole into blocks, in order; returns (blocks, skipped).

    Examples longer than a block are skipped rather than cut, so no answer loses its context.
    """
    blocks: list[Block] = []
    ids: list[int] = []
    labels: list[int] = []
    positions: list[int] = []
    skipped = 0
    for ex_ids, ex_labels in examples:
        if len(ex_ids) > block_size:
            skipped += 1
            continue
        if len(ids) + len(ex_ids) > block_size:
            blocks.append(_padded(ids, labels, positions, block_size, pad_id))
            ids, labels, positions = [], [], []
        ids.extend(ex_ids)
        labels.extend(ex_labels)
        positions.extend(range(len(ex_ids)))
    if ids:
        blocks.append(_padded(ids, labels, positions, block_size, pad_id))
    return blocks, skipped


def _padded(
    ids: list[int], labels: list[int], positions: list[int], block_size: int, pad_id: int
) -> Block:
    pad = block_size - len(ids)
    # Padding continues the last example's positions: it stays in that example's attention
    # group, after all of its tokens, so it changes nothing it could see.
    tail = range(positions[-1] + 1, positions[-1] + 1 + pad) if positions else range(pad)
    return Block(ids + [pad_id] * pad, labels + [IGNORE_INDEX] * pad, positions + list(tail))
