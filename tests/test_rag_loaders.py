from pathlib import Path

import pytest

from assistant.rag.loaders import LoadError, decode_text, html_lines, load_document


def _pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF with one text line per entry (Helvetica, WinAnsi)."""
    objects: list[bytes] = []
    n_pages = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    font_id = 3 + 2 * n_pages
    for i, lines in enumerate(pages):
        ops = ["BT /F1 12 Tf 72 720 Td 14 TL"]
        ops += [f"({line}) Tj T*" for line in lines]
        ops.append("ET")
        stream = "\n".join(ops).encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def test_markdown_keeps_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("# Title\n\nbody line\n", encoding="utf-8")
    doc = load_document(path)
    assert doc.kind == "markdown"
    assert [(ln.line, ln.text) for ln in doc.lines] == [(1, "# Title"), (2, ""), (3, "body line")]
    assert all(ln.page is None for ln in doc.lines)


@pytest.mark.parametrize("encoding", ["cp1250", "koi8-r"])
def test_invalid_utf8_falls_back_to_a_detected_encoding(tmp_path: Path, encoding: str) -> None:
    text = {
        "cp1250": "Zażółć gęślą jaźń. Pretrenowanie modeli językowych na dużym korpusie tekstu.\n",
        "koi8-r": "Генерация текста с помощью языковой модели. Токенизация и обучение.\n",
    }[encoding] * 5
    path = tmp_path / "legacy.txt"
    path.write_bytes(text.encode(encoding))
    doc = load_document(path)
    assert doc.lines[0].text == text.splitlines()[0]
    assert doc.encoding != "utf-8"


def test_utf8_bom_is_dropped() -> None:
    assert decode_text("\ufeffhello".encode("utf-8")) == ("hello", "utf-8")


def test_binary_is_refused_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "blob.txt"
    path.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(LoadError, match="binary"):
        load_document(path)


def test_too_large_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000, encoding="utf-8")
    with pytest.raises(LoadError, match="too large"):
        load_document(path, max_bytes=100)


def test_unsupported_and_missing(tmp_path: Path) -> None:
    (tmp_path / "x.png").write_bytes(b"\x89PNG")
    with pytest.raises(LoadError, match="unsupported"):
        load_document(tmp_path / "x.png")
    with pytest.raises(LoadError, match="not a regular file"):
        load_document(tmp_path / "missing.txt")


def test_empty_file_has_no_lines(tmp_path: Path) -> None:
    (tmp_path / "e.md").write_bytes(b"")
    assert load_document(tmp_path / "e.md").lines == []


def test_html_keeps_visible_text_only_with_source_lines() -> None:
    html = (
        "<html><head><title>T</title><style>p{}</style></head>\n<body>\n"
        "<p>First &amp; visible</p>\n<script>var x = 'hidden';</script>\n"
        "<p>second\nline</p></body></html>\n"
    )
    lines = [(ln.line, ln.text) for ln in html_lines(html)]
    assert lines == [(3, "First & visible"), (5, "second"), (6, "line")]


def test_pdf_pages_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "slides.pdf"
    path.write_bytes(_pdf([["Attention is all you need"], ["Beam search keeps", "the best beams"]]))
    doc = load_document(path)
    assert doc.kind == "pdf"
    by_page = {(ln.page, ln.line): ln.text for ln in doc.lines}
    assert "Attention" in by_page[(1, 1)]
    assert "Beam search" in by_page[(2, 1)]
    assert "best beams" in by_page[(2, 2)]


def test_broken_pdf_is_a_load_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\nthis is not a pdf")
    with pytest.raises(LoadError, match="PDF"):
        load_document(path)
