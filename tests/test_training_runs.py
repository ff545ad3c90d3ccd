"""One run for ``train`` and ``finetune`` (issue 16, item 4) and model names in fine-tuning
resolved like the engine's (issue 18, item 1). Tiny models, tiny folders, one thread."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import torch

from assistant.cli import main
from assistant.core.engine import Engine
from assistant.core.models import load_model
from assistant.errors import ModelLoadError
from assistant.training import finetune as finetune_module
from assistant.training import scratch as scratch_module
from assistant.training.data import read_documents, split_heldout
from assistant.training.progress import TrainingProgress
from assistant.training.runs import training_passages
from tests.test_training import NOTES, TINY_TRAIN

TINY_FINETUNE = ["--steps", "4", "--block-size", "32", "--batch-size", "2", "--json"]


@pytest.fixture
def notes_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    for name, text in NOTES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict, str]:
    code = main(["--threads", "1", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 and "--json" in argv else {}), err


def finetune_argv(model: str, data: Path, out: Path, *extra: str) -> list[str]:
    paths = ["--data", str(data), "--out", str(out)]
    return ["finetune", "--model", model, *paths, *TINY_FINETUNE, *extra]


# --- one skeleton -----------------------------------------------------------------------------


def test_default_qa_counts_per_passage_are_named_and_kept(
    notes_dir: Path, tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Behaviour as before: finetune makes 8 QA examples per answerable passage, train 16.
    assert finetune_module.QA_EXAMPLES_PER_PASSAGE == 8
    assert scratch_module.QA_EXAMPLES_PER_PASSAGE == 16
    answerable = sum(
        1 for p in training_passages(split_heldout(read_documents(notes_dir))) if p.sentences
    )
    assert answerable > 0
    argv = finetune_argv(str(tiny_model_dir), notes_dir, tmp_path / "f", "--qa-examples")
    code, tuned, _ = run_cli(argv, capsys)
    assert code == 0 and tuned["qa_examples"] == 8 * answerable

    train = [a for a in TINY_TRAIN if a not in {"--threads", "1"}]
    qa_at = train.index("--qa-count")
    del train[qa_at : qa_at + 2]  # the default count
    train[1:1] = [str(notes_dir), "--out", str(tmp_path / "t")]
    code, trained, _ = run_cli(train, capsys)
    assert code == 0 and trained["qa_examples"] == 16 * answerable


def test_both_commands_report_their_data_the_same_way(
    notes_dir: Path, tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (notes_dir / "data.json").write_text("{}", encoding="utf-8")
    code, report, err = run_cli(finetune_argv(str(tiny_model_dir), notes_dir, tmp_path), capsys)
    assert code == 0
    assert f"skipped {notes_dir / 'data.json'}: unsupported file type" in err
    summary = (
        f"{report['documents']} documents, {report['train_blocks']} training blocks "
        f"(0 QA examples, 0 copy blocks), {report['heldout_blocks']} held-out blocks"
    )
    assert summary in err  # the line ``train`` has always printed
    assert report["skipped_files"] == [
        {"path": str(notes_dir / "data.json"), "reason": "unsupported file type"}
    ]


@pytest.mark.parametrize("lora", [False, True])
def test_finetune_resume_continues_exactly(
    lora: bool,
    notes_dir: Path,
    tmp_path: Path,
    tiny_model_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    extra = ["--lr", "1e-3", "--checkpoint-every", "2", *(["--lora"] if lora else [])]
    base = str(tiny_model_dir)
    _, full, _ = run_cli(finetune_argv(base, notes_dir, tmp_path / "full", *extra), capsys)

    original = TrainingProgress.update

    def interrupt_at_2(self: TrainingProgress, step: int, loss: float) -> None:
        original(self, step, loss)
        if step == 2:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(TrainingProgress, "update", interrupt_at_2)
    out = tmp_path / "cut"
    code, _, err = run_cli(finetune_argv(base, notes_dir, out, *extra), capsys)
    assert code == 130 and "--resume" in err
    monkeypatch.setattr(TrainingProgress, "update", original)
    code, resumed, _ = run_cli(finetune_argv(base, notes_dir, out, *extra, "--resume"), capsys)
    assert code == 0 and resumed["resumed_from_step"] == 2
    assert resumed["losses"] == full["losses"]


# --- model names --------------------------------------------------------------------------------


def test_finetune_starts_from_the_bundled_model_offline(
    notes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tuned"
    code, report, err = run_cli(finetune_argv("bundled", notes_dir, out, "--lr", "1e-3"), capsys)
    assert code == 0, err
    assert report["base_model"] == "bundled" and report["steps"] == 4
    assert report["heldout_loss_after"] < report["heldout_loss_before"]
    bundled = load_model("bundled", allow_fallback=False, threads=1)
    assert report["parameters"] == sum(p.numel() for p in bundled.model.parameters())
    tuned = Engine.load(str(out), allow_fallback=False, threads=1)
    assert not tuned.loaded.is_fallback
    assert not torch.equal(
        tuned.loaded.model.lm_head.weight, bundled.model.lm_head.weight
    )  # trained, not copied


@pytest.mark.parametrize("name", ["no-such-org/no-such-model", "gpt2", "DialoGPT-small"])
def test_an_uncached_model_fails_with_the_engines_message(
    name: str, notes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ModelLoadError) as engine:
        load_model(name, allow_fallback=False, threads=1)
    code, _, err = run_cli(finetune_argv(name, notes_dir, tmp_path / "o"), capsys)
    assert code == 1
    assert err.strip().splitlines() == [f"error: {engine.value}"]


def test_an_unreachable_hub_fails_at_the_probe_not_in_a_retry_loop(
    notes_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An offline machine without HF_HUB_OFFLINE: the engine's quick TCP probe answers (here
    against a closed local port) before huggingface_hub could start retrying."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE")
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    code, _, err = run_cli(finetune_argv("no-such-org/no-such-model", notes_dir, tmp_path), capsys)
    assert code == 1
    assert err.strip().splitlines() == [
        "error: cannot load model 'no-such-org/no-such-model': not in the local Hugging Face "
        "cache and the hub is unreachable (no bundled fallback available)"
    ]
