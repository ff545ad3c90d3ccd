import json
from pathlib import Path

import pytest

from assistant.cli import main
from tests.rag_support import tiny_embedder_path, write_sample_folder


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def indexed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, list[str]]:
    folder = write_sample_folder(tmp_path / "src")
    common = ["--index", str(tmp_path / "index"), "--embed-model", str(tiny_embedder_path())]
    code, out, _ = _run(capsys, "index", "add", str(folder), *common, "--json")
    assert code == 0
    report = json.loads(out)
    assert len(report["added"]) == 5 and report["chunks_total"] >= 5
    return folder, common


def test_add_human_summary_then_noop(
    indexed: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, common = indexed
    code, out, _ = _run(capsys, "index", "add", str(folder), *common)
    assert code == 0
    assert "added 0, updated 0, removed 0, unchanged 5, skipped 0" in out


def test_search_json_fields(
    indexed: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, common = indexed
    code, out, _ = _run(capsys, "index", "search", "Warsaw capital", "--k", "2", "--json", *common)
    assert code == 0
    results = json.loads(out)
    assert 1 <= len(results) <= 2
    for field in (
        "path",
        "start_line",
        "end_line",
        "text",
        "score",
        "dense_score",
        "lexical_score",
    ):
        assert field in results[0]
    assert results[0]["path"].endswith("cities.txt")


def test_sparse_mode_on_an_index_without_sparse_terms_says_how_to_get_them(
    indexed: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, common = indexed  # the tiny sentence-transformers embedder makes none
    code, out, err = _run(capsys, "index", "search", "Warsaw", "--mode", "sparse", *common)
    assert code != 0 and not out
    assert "no sparse latent terms" in err and "index rebuild" in err
    assert len(err.strip().splitlines()) == 1


def test_sparse_mode_on_an_english_folder_says_why_it_finds_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The default embedder and scope: English notes get no sparse vectors, and a sparse
    search says so on its one line instead of a bare 'no passages found'."""
    from assistant.rag.embedder import DEFAULT_EMBED_MODEL

    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "notes.md").write_text("Beam search keeps the most probable partial answers.\n")
    common = ["--index", str(tmp_path / "index"), "--embed-model", DEFAULT_EMBED_MODEL]
    code, _, _ = _run(capsys, "index", "add", str(folder), *common)
    assert code == 0
    code, out, _ = _run(capsys, "index", "search", "beam search", "--mode", "sparse", *common)
    assert code == 0
    assert out.startswith("no passages found (sparse terms are kept only for chunks not in")
    assert len(out.strip().splitlines()) == 1


def test_search_human_output_shows_text_literally(
    indexed: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, common = indexed
    code, out, _ = _run(capsys, "index", "search", "beam search", "--mode", "lexical", *common)
    assert code == 0 and out.startswith("1. ") and "decoding.md:" in out


def test_list_stats_remove(
    indexed: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, common = indexed
    code, out, _ = _run(capsys, "index", "list", "--json", *common)
    assert code == 0 and len(json.loads(out)) == 5
    code, out, _ = _run(capsys, "index", "stats", "--json", *common)
    stats = json.loads(out)
    assert stats["documents"] == 5 and stats["model"] == str(tiny_embedder_path())
    code, out, _ = _run(capsys, "index", "remove", str(folder / "cities.txt"), "--json", *common)
    assert json.loads(out)["removed"] == [str(folder / "cities.txt")]
    code, out, _ = _run(capsys, "index", "list", *common)
    assert "4 documents" in out


def test_eval_reports_each_mode(
    indexed: tuple[Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, common = indexed
    questions = tmp_path / "q.jsonl"
    rows = [
        {
            "question": "beam search partial sequences",
            "source": "decoding.md",
            "answer": "best partial",
        },
        {"question": "capital of Poland", "source": "cities.txt", "answer": "Warsaw"},
        {"question": "unrelated zebra", "source": "nowhere.md", "answer": "zebra"},
    ]
    questions.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    code, out, _ = _run(capsys, "index", "eval", str(questions), "--k", "3", "--json", *common)
    assert code == 0
    data = json.loads(out)
    assert set(data["modes"]) == {"fused", "dense", "lexical"}
    lexical = data["modes"]["lexical"]
    assert lexical["recall@3"] == pytest.approx(2 / 3)
    assert [m["source"] for m in lexical["misses"]] == ["nowhere.md"]
    code, out, _ = _run(capsys, "index", "eval", str(questions), *common)
    assert "recall@5" in out and "missed (fused)" in out


def test_rebuild(indexed: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    _, common = indexed
    code, out, _ = _run(capsys, "index", "rebuild", "--json", *common)
    assert code == 0 and len(json.loads(out)["added"]) == 5


def test_errors_are_one_line_with_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "index", "search", "x", "--index", str(tmp_path / "none"))
    assert code == 1 and out == ""
    assert err.strip() == f"error: no index at {tmp_path / 'none'}: run `assistant index add PATH`"
    code, _, err = _run(
        capsys, "index", "add", str(tmp_path / "missing"), "--index", str(tmp_path / "i")
    )
    assert code == 1 and "no such file or folder" in err
    with pytest.raises(SystemExit) as exc:
        main(["index", "search", "x", "--k", "0"])
    assert exc.value.code == 2
