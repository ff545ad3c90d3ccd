"""``assistant train`` / ``assistant finetune``: data handling, the loop, the CLI end to end.

Every run here is a tiny model on a tiny folder (seconds); one torch thread.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from assistant.chat.template import render_prompt
from assistant.cli import main
from assistant.errors import DataError
from assistant.training import checkpoint as ckpt
from assistant.training.data import (
    IGNORE_INDEX,
    pack_examples,
    pack_stream,
    read_documents,
    split_heldout,
)
from assistant.training.progress import TrainingProgress
from assistant.training.qa_examples import build_examples, document_passages, tokenize_example
from assistant.training.runs import offsets_encoder

NOTES = {
    "decoding.md": """# Decoding

## Greedy decoding

Greedy decoding picks the most probable token at every step. It is fast and deterministic,
but it often repeats itself and misses sequences whose first token looks unlikely.

## Beam search

Beam search keeps the best partial sequences at every step of decoding. The number of kept
sequences is the beam width; a wider beam explores more but costs more computation.

## Sampling

Sampling draws the next token at random from the distribution. Temperature rescales the
logits before the softmax, so a low temperature makes the choice nearly greedy.
""",
    "attention.md": """# Attention

## Queries and keys

Attention compares a query with every key and turns the scores into weights with a softmax.
The output of a head is the weighted average of the values of all earlier positions.

## Multiple heads

A transformer layer runs several attention heads in parallel. Each head can learn a different
pattern, for example copying the token that followed an earlier occurrence of this token.
""",
    "notes.txt": "Perplexity is the exponential of the average next-token loss on held-out text. "
    "Lower perplexity means the model assigns higher probability to the real continuation.\n\n"
    "A model that guesses uniformly among V tokens has a perplexity of exactly V.\n",
}

TINY_TRAIN = [
    "--threads", "1", "train", "--steps", "6", "--block-size", "64", "--batch-size", "2",
    "--n-layer", "2", "--n-embd", "32", "--n-head", "2", "--n-positions", "128",
    "--vocab-size", "400", "--qa-count", "24", "--checkpoint-every", "2", "--json",
]  # fmt: skip


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
    code = main(argv)
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 and "--json" in argv else {}), err


def train_argv(data: Path, out: Path, *extra: str) -> list[str]:
    argv = list(TINY_TRAIN)
    argv[argv.index("train") + 1 : argv.index("train") + 1] = [str(data), "--out", str(out)]
    return argv + list(extra)


# --- data -----------------------------------------------------------------------------------


def test_empty_or_unreadable_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no usable documents"):
        read_documents(tmp_path)
    (tmp_path / "empty.md").write_text("  \n", encoding="utf-8")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG")
    (tmp_path / "image.md").write_bytes(b"\x89PNG\x00\x00")
    with pytest.raises(DataError, match="3 files skipped"):
        read_documents(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        read_documents(tmp_path / "missing")


def test_bad_files_are_skipped_and_reported(notes_dir: Path) -> None:
    (notes_dir / "broken.md").write_bytes(b"\xff\xfe\x00bad")
    (notes_dir / "ignored.json").write_text("{}", encoding="utf-8")
    corpus = read_documents(notes_dir)
    assert sorted(d.name for d in corpus.documents) == [
        "notes/attention.md",
        "notes/decoding.md",
        "notes/notes.txt",
    ]
    # The indexer's reasons, unsupported files included (tests/test_training_documents.py).
    assert [(p.name, why) for p, why in corpus.skipped] == [
        ("ignored.json", "unsupported file type"),
        ("broken.md", "binary file (NUL bytes)"),
    ]


def test_heldout_split_is_deterministic_and_disjoint(notes_dir: Path) -> None:
    first = split_heldout(read_documents(notes_dir))
    second = split_heldout(read_documents(notes_dir))
    assert first == second
    assert first.heldout
    train_text = "\n".join(d.text for d in first.train)
    for paragraph in first.heldout:
        assert paragraph not in train_text


def test_packing_labels_padding_and_positions() -> None:
    blocks = pack_stream(list(range(10)), block_size=4, pad_id=99, min_tail=1)
    assert [b.input_ids for b in blocks] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 99, 99]]
    assert blocks[-1].labels == [8, 9, IGNORE_INDEX, IGNORE_INDEX]
    examples = [([1, 2, 3], [-100, 2, 3]), ([4, 5], [-100, 5]), ([6] * 9, [6] * 9)]
    packed, skipped = pack_examples(examples, block_size=6, pad_id=0)
    assert skipped == 1  # longer than a block: dropped whole, never cut
    assert packed[0].input_ids == [1, 2, 3, 4, 5, 0]
    assert packed[0].labels == [-100, 2, 3, -100, 5, -100]
    assert packed[0].positions == [0, 1, 2, 0, 1, 2]  # each example starts at position 0


# --- QA examples ----------------------------------------------------------------------------


@pytest.mark.parametrize("swap_share", [0.0, 1.0])
def test_qa_examples_use_the_prompt_format_and_answer_from_the_context(
    notes_dir: Path, tiny_model_dir: Path, swap_share: float
) -> None:
    corpus = read_documents(notes_dir)
    passages = [p for doc in corpus.documents for p in document_passages(doc)]
    assert passages[0].source == "notes/attention.md:5-6"
    examples = build_examples(passages, 40, seed=3, swap_share=swap_share)
    assert examples == build_examples(passages, 40, seed=3, swap_share=swap_share)
    assert len(examples) == 40
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    for example in examples:
        assert example.text.startswith(render_prompt("", [])[:30])
        assert example.text.endswith("\n\n<|endoftext|>")
        context = " ".join(example.text[: example.text.index("\nQuestion:")].split()).lower()
        for start, end in example.spans:
            answer = example.text[start:end].strip().removesuffix("<|endoftext|>").strip()
            assert example.text[:start].endswith("Answer:")
            # Answers are copied (or cut) from a passage shown in the same prompt.
            # (a clause may start with a capital letter added)
            assert answer.removesuffix(" ...").rstrip(".").lower() in context
        ids, labels = tokenize_example(example, offsets_encoder(tokenizer))
        trained = tokenizer.decode([t for t in labels if t != IGNORE_INDEX])
        assert "Question:" not in trained and "Context:" not in trained
        assert trained.endswith("<|endoftext|>")
        assert len(ids) == len(labels)
        assert tokenize_example(example, offsets_encoder(tokenizer), answers_only=False) == (
            ids,
            ids,
        )


# --- checkpoints ----------------------------------------------------------------------------


def test_checkpoints_are_replaced_atomically(tmp_path: Path) -> None:
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()

    def write(folder: Path) -> None:
        (folder / "weights.txt").write_text("w", encoding="utf-8")

    first = ckpt.save_checkpoint(tmp_path, 1, write, optimizer, {"step": 1})
    # A run killed while writing step 2 leaves only a hidden temporary folder behind.
    (tmp_path / "checkpoints" / ".tmp-step-00000002").mkdir()
    assert ckpt.latest_checkpoint(tmp_path) == first
    second = ckpt.save_checkpoint(tmp_path, 2, write, optimizer, {"step": 2})
    assert ckpt.latest_checkpoint(tmp_path) == second
    assert not first.exists()
    restored = torch.optim.AdamW(torch.nn.Linear(3, 2).parameters())
    ckpt.load_optimizer(restored, second)
    assert torch.equal(
        restored.state_dict()["state"][0]["exp_avg"], optimizer.state_dict()["state"][0]["exp_avg"]
    )


# --- train ----------------------------------------------------------------------------------


def test_train_produces_a_loadable_model(
    notes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model"
    code, report, _ = run_cli(train_argv(notes_dir, out), capsys)
    assert code == 0
    assert report["steps"] == 6 and len(report["losses"]) == 6
    assert report["qa_examples"] == 24 and report["documents"] == 3
    assert report["heldout_perplexity_before"] > 1 and report["heldout_perplexity_after"] > 1
    assert not (out / "checkpoints").exists()  # superseded by the final model
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.config.n_positions == 128 and model.config.n_layer == 2
    assert tokenizer.eos_token == "<|endoftext|>"
    ids = tokenizer("Beam search keeps", return_tensors="pt").input_ids
    generated = model.generate(ids, max_new_tokens=5, do_sample=False, pad_token_id=0)
    assert generated.shape[1] == ids.shape[1] + 5
    # ... and through the assistant's own engine, without falling back to the bundled model.
    from assistant.core.engine import Engine

    engine = Engine.load(str(out), allow_fallback=False, threads=1)
    assert not engine.loaded.is_fallback
    assert len(engine.score("Beam search keeps the best partial sequences.").logprobs) > 3


def test_same_seed_same_losses_and_resume_continues_exactly(
    notes_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, full, _ = run_cli(train_argv(notes_dir, tmp_path / "a"), capsys)
    _, again, _ = run_cli(train_argv(notes_dir, tmp_path / "b"), capsys)
    assert again["losses"] == full["losses"]
    _, other_seed, _ = run_cli(train_argv(notes_dir, tmp_path / "c", "--seed", "1"), capsys)
    assert other_seed["losses"] != full["losses"]

    # A real Ctrl-C (SIGINT) after step 3: the loop finishes the step, saves, exits 130.
    original = TrainingProgress.update

    def interrupt_at_3(self: TrainingProgress, step: int, loss: float) -> None:
        original(self, step, loss)
        if step == 3:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(TrainingProgress, "update", interrupt_at_3)
    out = tmp_path / "resumed"
    code, _, err = run_cli(train_argv(notes_dir, out), capsys)
    assert code == 130
    checkpoint = ckpt.latest_checkpoint(out)
    assert checkpoint is not None and checkpoint.name == "step-00000003"
    assert str(checkpoint) in err and "--resume" in err
    AutoModelForCausalLM.from_pretrained(checkpoint)  # the checkpoint itself is a usable model
    monkeypatch.setattr(TrainingProgress, "update", original)

    code, resumed, _ = run_cli(train_argv(notes_dir, out, "--resume"), capsys)
    assert code == 0
    assert resumed["resumed_from_step"] == 3
    assert resumed["losses"] == full["losses"]
    assert resumed["tokens_seen"] == full["tokens_seen"]  # counted across both legs
    assert resumed["heldout_loss_after"] == pytest.approx(full["heldout_loss_after"], abs=1e-5)


def test_resume_without_checkpoint_and_bad_flags_are_clear_errors(
    notes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(train_argv(notes_dir, tmp_path / "x", "--resume"), capsys)
    assert code == 1 and "nothing to resume" in err
    code, _, err = run_cli(train_argv(notes_dir, tmp_path / "x", "--block-size", "4096"), capsys)
    assert code == 2 and "--block-size" in err
    for flag, value in (
        ("--qa-swap", "1.5"),
        ("--text-share", "1"),
        ("--copy-share", "-0.1"),
        ("--copy-warmup", "5"),  # without --copy-share there is nothing to warm up on
    ):
        code, _, err = run_cli(train_argv(notes_dir, tmp_path / "x", flag, value), capsys)
        assert code == 2 and flag in err and len(err.strip().splitlines()) == 1


def test_train_with_word_swaps_and_copy_blocks(
    notes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = train_argv(
        notes_dir, tmp_path / "m", "--qa-swap", "0.5", "--copy-share", "0.25", "--copy-warmup", "2"
    )
    code, report, _ = run_cli(argv, capsys)
    assert code == 0
    # A quarter of the blocks are copy blocks; the rest are the usual text and QA blocks.
    assert abs(report["copy_blocks"] - 0.25 * report["train_blocks"]) <= 1
    state = json.loads((tmp_path / "m" / "training_state.json").read_text(encoding="utf-8"))
    assert state["run"]["options"]["qa_swap"] == 0.5  # stored, so --resume rebuilds the same data
    _, plain, _ = run_cli(train_argv(notes_dir, tmp_path / "p"), capsys)
    assert plain["copy_blocks"] == 0 and plain["losses"] != report["losses"]
    # A share too small for this folder still gives one copy block (the warm-up is not dropped).
    argv = train_argv(notes_dir, tmp_path / "s", "--copy-share", "0.001", "--copy-warmup", "2")
    _, small, _ = run_cli(argv, capsys)
    assert small["copy_blocks"] == 1


def test_empty_data_folder_exits_1_with_one_line(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for argv in (
        ["train", str(empty), "--out", str(tmp_path / "o")],
        ["finetune", "--model", str(tiny_model_dir), "--data", str(empty), "--out", str(tmp_path)],
    ):
        code, _, err = run_cli(argv, capsys)
        assert code == 1
        assert err.startswith("error: no usable documents") and "Traceback" not in err


# --- finetune -------------------------------------------------------------------------------

FINETUNE = ["--steps", "30", "--block-size", "32", "--batch-size", "4", "--json"]


def test_finetune_lowers_heldout_loss(
    notes_dir: Path, tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tuned"
    argv = ["--threads", "1", "finetune", "--model", str(tiny_model_dir), "--data", str(notes_dir)]
    code, report, _ = run_cli([*argv, "--out", str(out), *FINETUNE, "--lr", "3e-3"], capsys)
    assert code == 0
    assert report["heldout_loss_after"] < report["heldout_loss_before"] - 0.5
    assert report["base_model"] == str(tiny_model_dir) and report["lora"] is False
    tuned = AutoModelForCausalLM.from_pretrained(out)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert not torch.equal(tuned.lm_head.weight, base.lm_head.weight)


def test_finetune_with_lora_saves_a_plain_merged_model(
    notes_dir: Path, tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "lora"
    argv = ["--threads", "1", "finetune", "--model", str(tiny_model_dir), "--data", str(notes_dir)]
    code, report, _ = run_cli([*argv, "--out", str(out), *FINETUNE, "--lora"], capsys)
    assert code == 0 and report["lora"] is True
    assert report["trainable_parameters"] < report["parameters"] / 2
    assert report["heldout_loss_after"] < report["heldout_loss_before"]
    weights = load_file(str(out / "model.safetensors"))
    assert not any("lora" in key for key in weights)  # merged: plain GPT-2 weights only
    tuned = AutoModelForCausalLM.from_pretrained(out)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    changed = tuned.transformer.h[0].attn.c_attn.weight
    assert not torch.allclose(changed, base.transformer.h[0].attn.c_attn.weight)
    assert torch.equal(tuned.transformer.wte.weight, base.transformer.wte.weight)


def test_finetune_of_a_missing_model_is_a_clear_error(
    notes_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "no-such-model")
    argv = ["finetune", "--model", missing, "--data", str(notes_dir), "--out", str(tmp_path / "o")]
    code, _, err = run_cli(argv, capsys)
    assert code == 1 and err.startswith("error: cannot load model")
