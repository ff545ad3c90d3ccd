"""Beam search shown as it goes: the running beams at every step, best first, without
changing the search. Tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.core import DecodingSettings, Engine

PROMPT = "Beam search keeps the best partial sequences"
BEAM = DecodingSettings(strategy="beam", num_beams=3, max_new_tokens=6, top_logprobs=3)


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> Engine:
    return Engine.load(str(tiny_model_dir), allow_fallback=False, threads=1)


def test_the_running_beams_are_seen_at_every_step_and_the_search_is_unchanged(
    engine: Engine,
) -> None:
    plain = engine.generate(PROMPT, BEAM)
    seen: list[list[list[int]]] = []
    stream = engine.stream(PROMPT, BEAM)
    stream.beam_watch = seen.append
    steps = list(stream)
    watched = stream.result()
    assert [s.token_id for s in steps] == [s.token_id for s in plain.steps]
    assert [s.processed_logprob for s in steps] == pytest.approx(
        [s.processed_logprob for s in plain.steps], abs=1e-6
    )
    assert watched.sequence_score == pytest.approx(plain.sequence_score, abs=1e-6)
    assert seen and all(len(beams) == BEAM.num_beams for beams in seen)
    # Step t shows beams of t tokens; the first step, the prompt alone.
    assert [len(beams[0]) for beams in seen] == list(range(len(seen)))
    assert seen[0] == [[], [], []]
    assert len(set(map(tuple, seen[1]))) == BEAM.num_beams  # three different first tokens
    assert watched.finish_reason == "length"  # so the winner was running at the last step
    best = [s.token_id for s in steps]
    assert len(seen) == BEAM.max_new_tokens and best[:-1] in seen[-1]
