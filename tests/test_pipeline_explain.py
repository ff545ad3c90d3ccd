"""The processor pipeline of one generated token, stage by stage: replayed exactly (the last
stage is the distribution the engine drew from), in the engine's order, with kept sets and
removed mass that add up."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from assistant.cli import main
from assistant.core import DecodingSettings, Engine
from assistant.core.grounding_input import GroundingInput, SourceText
from assistant.core.models import BUNDLED_MODEL_DIR
from assistant.core.pipeline_explain import explain_step
from assistant.errors import UsageError

PROMPT = "Beam search keeps"
SAMPLED = DecodingSettings(
    strategy="sample",
    temperature=0.7,
    top_k=40,
    top_p=0.9,
    repetition_penalty=1.3,
    no_repeat_ngram_size=2,
    seed=3,
    max_new_tokens=12,
)


@pytest.fixture(scope="module", params=["tiny", "bundled"])
def engine(request: pytest.FixtureRequest, tiny_model_dir: Path) -> Engine:
    torch.set_num_threads(1)
    source = str(tiny_model_dir) if request.param == "tiny" else str(BUNDLED_MODEL_DIR)
    return Engine.load(source, allow_fallback=False)


def test_the_last_stage_is_what_the_engine_sampled_from(engine: Engine) -> None:
    generation = engine.generate(PROMPT, SAMPLED)
    ids = [s.token_id for s in generation.steps]
    assert len(ids) > 3
    for step in (0, 1, len(ids) // 2, len(ids) - 1):
        explained = explain_step(engine, PROMPT, ids, step, SAMPLED)
        taken = generation.steps[step]
        first, last = explained.stages[0], explained.stages[-1]
        assert explained.token_id == taken.token_id
        assert last.chosen_prob == pytest.approx(taken.processed_prob, abs=1e-6)
        assert first.chosen_prob == pytest.approx(taken.prob, abs=1e-6)
        assert first.chosen_rank == taken.rank
        # The recorded tops agree with the engine's own tables, stage 0 and the last.
        assert [t.token_id for t in first.top[:3]] == [t.token_id for t in taken.top[:3]]
        assert [t.token_id for t in last.top[:3]] == [t.token_id for t in taken.top_processed[:3]]


def test_stages_run_in_the_engine_order_with_consistent_masses(engine: Engine) -> None:
    generation = engine.generate(PROMPT, SAMPLED)
    ids = [s.token_id for s in generation.steps]
    explained = explain_step(engine, PROMPT, ids, 4, SAMPLED)
    names = [s.name.split(" ")[0] for s in explained.stages]
    assert names == ["raw", "repetition", "no-repeat", "temperature", "top-k", "top-p"]
    vocab = engine.model.config.vocab_size
    assert explained.stages[0].kept == vocab and explained.stages[0].removed_mass == 0.0
    kept = [s.kept for s in explained.stages]
    assert kept == sorted(kept, reverse=True)  # nothing here brings a token back
    assert explained.stages[4].kept == 40  # top-k keeps exactly k
    for stage in explained.stages:
        assert 0.0 <= stage.removed_mass <= 1.0
        total = sum(t.prob for t in stage.top)
        assert total <= 1.0 + 1e-6
        probs = [t.prob for t in stage.top]
        assert probs == sorted(probs, reverse=True)
    # Temperature removes nothing; top-p removes exactly what falls outside its kept set.
    assert explained.stages[3].removed_mass == 0.0
    assert explained.stages[5].removed_mass > 0.0


def test_without_processors_the_only_stage_is_the_raw_distribution(engine: Engine) -> None:
    greedy = DecodingSettings(max_new_tokens=6)
    generation = engine.generate(PROMPT, greedy)
    ids = [s.token_id for s in generation.steps]
    explained = explain_step(engine, PROMPT, ids, 2, greedy)
    assert [s.name for s in explained.stages] == ["raw model"]
    raw = explained.stages[0]
    step = generation.steps[2]
    assert raw.chosen_rank == 1 and raw.chosen_prob == pytest.approx(step.prob, abs=1e-6)
    # The explanation runs HF's forward, the engine the lean one: equal within 1e-5.
    assert [t.token_id for t in raw.top[:5]] == [t.token_id for t in step.top[:5]]
    for explained_top, decoded_top in zip(raw.top[:5], step.top[:5], strict=True):
        assert explained_top.prob == pytest.approx(decoded_top.prob, abs=1e-5)


def test_grounding_copy_is_the_last_stage_and_exact(tiny_model_dir: Path) -> None:
    engine = Engine.load(str(tiny_model_dir), allow_fallback=False)
    grounding = GroundingInput(
        question="What does beam search keep?",
        sources=(
            SourceText(
                "notes.md:1-2",
                "Beam search keeps the best partial sequences at every step of decoding.",
            ),
        ),
    )
    settings = DecodingSettings(
        strategy="sample", top_p=0.95, seed=1, grounding="copy", max_new_tokens=8
    )
    prompt = "Answer: "
    generation = engine.generate(prompt, settings, grounding=grounding)
    ids = [s.token_id for s in generation.steps]
    assert ids
    for step in range(len(ids)):
        explained = explain_step(engine, prompt, ids, step, settings, grounding=grounding)
        assert explained.stages[-1].name.startswith("passage copy")
        expected = generation.steps[step].processed_prob
        assert explained.stages[-1].chosen_prob == pytest.approx(expected, abs=1e-6)


def test_bad_steps_and_beam_are_usage_errors(tiny_model_dir: Path) -> None:
    engine = Engine.load(str(tiny_model_dir), allow_fallback=False)
    with pytest.raises(UsageError, match="invalid step 5"):
        explain_step(engine, PROMPT, [1, 2], 5, SAMPLED)
    with pytest.raises(UsageError, match="beam"):
        explain_step(engine, PROMPT, [1], 0, DecodingSettings(strategy="beam", num_beams=2))
    # One past the tokens is the next, not yet generated step: no chosen token to follow.
    explained = explain_step(engine, PROMPT, [], 0, SAMPLED)
    assert explained.token_id is None and explained.stages[-1].chosen_prob is None


def test_cli_generate_explain_step_json(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path
) -> None:
    argv = ["generate", PROMPT, "--model", str(tiny_model_dir), "--json", "--strategy", "sample"]
    argv += ["--seed", "2", "--top-k", "10", "--temperature", "0.8", "--max-new-tokens", "5"]
    code = main([*argv, "--explain-step", "2"])
    out, _ = capsys.readouterr()
    assert code == 0
    data = json.loads(out)
    pipeline = data["pipeline"]
    assert pipeline["step"] == 2 and pipeline["token_id"] == data["steps"][2]["token_id"]
    assert [s["name"] for s in pipeline["stages"]] == ["raw model", "temperature 0.8", "top-k 10"]
    last = pipeline["stages"][-1]
    assert math.isclose(last["chosen_prob"], data["steps"][2]["processed_prob"], abs_tol=1e-6)
    assert last["kept"] == 10


def test_cli_explain_step_out_of_range_is_one_line(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path
) -> None:
    argv = ["generate", PROMPT, "--model", str(tiny_model_dir), "--max-new-tokens", "3"]
    code = main([*argv, "--explain-step", "7"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "error: invalid --explain-step 7: the generation has 3 tokens (steps 0 … 2)"
    )


def test_cli_explain_step_human_table(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path
) -> None:
    argv = ["generate", PROMPT, "--model", str(tiny_model_dir), "--max-new-tokens", "3"]
    code = main([*argv, "--repetition-penalty", "1.2", "--explain-step", "1"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "pipeline at step 1" in out
    assert "0. raw model: kept" in out and "1. repetition penalty 1.2: kept" in out


def test_cli_explain_step_refuses_beam_before_generating(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path
) -> None:
    argv = ["generate", PROMPT, "--model", str(tiny_model_dir), "--strategy", "beam"]
    code = main([*argv, "--explain-step", "0"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.strip() == (
        "error: --explain-step explains greedy and sampled steps (beam search scores whole beams)"
    )
