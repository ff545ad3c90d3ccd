"""Comparing models on one text: per-token log-probabilities side by side, perplexities, the
tokens where the models disagree most; different tokenizations compare perplexities only."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.core import Engine
from assistant.core.models import BUNDLED_MODEL_DIR
from assistant.core.score_compare import ScoredModel, compare_scores
from assistant.errors import UsageError
from tests.tiny import build_tiny_model

TEXT = "Greedy decoding picks the most probable token; sampling draws from the distribution."


@pytest.fixture(scope="module")
def other_tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same tokenizer as tiny_model_dir (trained the same way), other random weights."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-gpt2-other"), seed=7)


def scored(path: Path, name: str | None = None) -> ScoredModel:
    engine = Engine.load(str(path), allow_fallback=False)
    return ScoredModel(name or str(path), engine.loaded.source, engine.score(TEXT))


def test_same_tokenizer_compares_token_by_token(tiny_model_dir: Path, other_tiny_dir: Path) -> None:
    a, b = scored(tiny_model_dir, "a"), scored(other_tiny_dir, "b")
    assert a.score.token_ids == b.score.token_ids
    comparison = compare_scores([a, b], top=3)
    assert comparison.same_tokens and comparison.duplicate_note is None
    spreads = [abs(x - y) for x, y in zip(a.score.logprobs, b.score.logprobs, strict=True)]
    expected = sorted(range(len(spreads)), key=lambda i: (-spreads[i], i))[:3]
    assert [d.index for d in comparison.disagreements] == expected
    assert comparison.disagreements[0].spread == pytest.approx(max(spreads))
    data = comparison.to_dict()
    assert [m["perplexity"] for m in data["models"]] == [a.score.perplexity, b.score.perplexity]
    assert sum(t["marked"] for t in data["tokens"]) == 3
    row = data["tokens"][expected[0]]
    assert row["logprobs"] == [a.score.logprobs[expected[0]], b.score.logprobs[expected[0]]]


def test_different_tokenizers_compare_perplexities_only(tiny_model_dir: Path) -> None:
    tiny, bundled = scored(tiny_model_dir, "tiny"), scored(BUNDLED_MODEL_DIR, "bundled")
    assert tiny.score.token_ids != bundled.score.token_ids
    comparison = compare_scores([tiny, bundled])
    assert not comparison.same_tokens and comparison.disagreements == ()
    data = comparison.to_dict()
    assert data["tokens"] is None and "tokenize the text differently" in data["note"]
    assert all(math.isfinite(m["perplexity"]) and m["perplexity"] > 1 for m in data["models"])


def test_the_same_weights_twice_are_flagged(tiny_model_dir: Path) -> None:
    a, b = scored(tiny_model_dir, "a"), scored(tiny_model_dir, "b")
    comparison = compare_scores([a, b])
    assert comparison.duplicate_note is not None
    assert all(d.spread == 0.0 for d in comparison.disagreements)


def test_one_model_is_not_a_comparison(tiny_model_dir: Path) -> None:
    with pytest.raises(UsageError, match="at least two models"):
        compare_scores([scored(tiny_model_dir)])


def test_cli_score_two_models_json(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path, other_tiny_dir: Path
) -> None:
    argv = ["score", TEXT, "--model", str(tiny_model_dir), "--model", str(other_tiny_dir)]
    code = main([*argv, "--json", "--top", "2"])
    out, _ = capsys.readouterr()
    assert code == 0
    data = json.loads(out)
    assert data["same_tokens"] is True and data["text"] == TEXT
    assert [m["model"] for m in data["models"]] == [str(tiny_model_dir), str(other_tiny_dir)]
    assert len(data["disagreements"]) == 2
    first = data["disagreements"][0]
    assert first["spread"] == max(t["spread"] for t in data["tokens"])


def test_cli_score_two_models_table(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path
) -> None:
    argv = ["score", TEXT, "--model", str(tiny_model_dir), "--model", str(BUNDLED_MODEL_DIR)]
    code = main(argv)
    out, _ = capsys.readouterr()
    assert code == 0
    assert "tokenize the text differently" in out
    assert out.count("perplexity") == 2


def test_cli_single_model_score_is_unchanged(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path
) -> None:
    for argv in (
        ["score", TEXT, "--model", str(tiny_model_dir), "--json"],
        ["--model", str(tiny_model_dir), "score", TEXT, "--json"],
    ):
        code = main(argv)
        out, _ = capsys.readouterr()
        data = json.loads(out)
        assert code == 0 and data["source"] == str(tiny_model_dir)
        assert data["perplexity"] > 1 and len(data["tokens"]) >= 3


def test_other_commands_keep_a_single_global_model(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path
) -> None:
    code = main(["probs", "Warsaw is", "--model", "nonexistent", "--model", str(tiny_model_dir)])
    capsys.readouterr()
    assert code == 0  # the last --model wins, as before
