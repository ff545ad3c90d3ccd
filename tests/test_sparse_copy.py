"""The greedy copy path that never materialises the mixture (SparseMix, the sampler's
``sparse_copy``) gives what the dense processor gives: the same top k, log-probabilities,
stop decision, provenance and, through the engine, the same answer."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from assistant.core.decoding import DecodingSettings
from assistant.core.engine import Engine
from assistant.core.grounding import (
    CopyIndex,
    GroundingInput,
    PassageCopyProcessor,
    SourceText,
    SparseMix,
)
from tests.test_grounding import VOCAB, WordTokenizer

TEXT = (
    "Alpha beta gamma delta. Beta gamma omega sigma tau. "
    "Gamma delta alpha rho. Omega sigma tau alpha beta gamma."
)


def pair(strength: float) -> tuple[PassageCopyProcessor, PassageCopyProcessor, WordTokenizer]:
    """Two processors over the same index: one called densely, one sparsely."""
    tok = WordTokenizer()
    grounding = GroundingInput("what is omega sigma", (SourceText("a.md:1-2", TEXT),))
    index = CopyIndex.build(tok, grounding)
    dense = PassageCopyProcessor(index, prompt_length=1, strength=strength)
    sparse = PassageCopyProcessor(index, prompt_length=1, strength=strength)
    return dense, sparse, tok


def dense_top(logprobs: torch.Tensor, k: int) -> list[tuple[int, float]]:
    values, ids = logprobs.topk(k)
    return list(zip(ids.tolist(), values.tolist(), strict=True))


@pytest.mark.parametrize("strength", [0.3, 0.9, 1.0])
@pytest.mark.parametrize("k", [1, 5])
def test_sparse_mix_matches_the_dense_mixture_step_by_step(strength: float, k: int) -> None:
    dense, sparse, tok = pair(strength)
    # An answer that copies, leaves the passages and comes back: every match length occurs.
    words = [
        "Beta",
        "gamma",
        "omega",
        "sigma",
        "tau",
        "alpha",
        "beta",
        "zeta",
        "Gamma",
        "delta",
        "alpha",
        "rho",
    ]
    answer = [tok.id(w) for w in words]
    generator = torch.Generator().manual_seed(0)
    voted_steps = 0
    for end in range(len(answer) + 1):
        ids = torch.tensor([[0, *answer[:end]]])
        scores = torch.randn(1, VOCAB, generator=generator) * 3
        mixed = dense(ids, scores.clone())[0]  # type: ignore[arg-type]
        model = torch.log_softmax(scores[0], -1)
        raw_top = dense_top(model, k)
        mix = sparse.mix_sparse(ids, model, raw_top[0][0])  # type: ignore[arg-type]
        voted_steps += bool(mix.voted)
        got = mix.top(raw_top, k)
        want = [(t, v) for t, v in dense_top(mixed, k) if v > -float("inf")]
        # The same values in the same order, each the dense mixture's value of its token
        # (tied tokens may come in either order), and the same greedy pick as argmax.
        assert len(got) >= len(want)
        for (token, g), (_, w) in zip(got, want, strict=False):
            assert g == pytest.approx(w, abs=1e-5)
            assert g == pytest.approx(float(mixed[token]), abs=1e-5)
        assert got[0][0] == int(torch.argmax(mixed))
        for token in range(VOCAB):
            value = mix.logprob(token, float(model[token]))
            if float(mixed[token]) == -float("inf"):
                assert value == -float("inf")
            else:
                assert value == pytest.approx(float(mixed[token]), abs=1e-5)
        assert sparse.stop_here == dense.stop_here
        chosen = got[0][0]
        d, s = dense.provenance(chosen), sparse.provenance(chosen)
        assert (s.copied, s.passage, s.line, s.match_length) == (
            d.copied,
            d.passage,
            d.line,
            d.match_length,
        )
        assert s.model_prob == pytest.approx(d.model_prob, rel=1e-5, abs=1e-8)
    assert voted_steps >= len(answer) // 2  # the test exercised the mixture, not only the model


def test_top_keeps_a_voted_token_from_outside_the_model_top() -> None:
    mix = SparseMix(shift=-0.1, voted={42: -0.5})
    model_top = [(1, -1.0), (2, -2.0), (3, -3.0)]
    assert mix.top(model_top, 3) == [(42, -0.5), (1, -1.1), (2, -2.1)]
    assert mix.logprob(3, -3.0) == pytest.approx(-3.1)
    assert mix.logprob(42, -9.0) == -0.5


# ---------------------------------------------------------------------- through the engine
@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> Engine:
    return Engine.load(str(tiny_model_dir), allow_fallback=False)


PASSAGE = "Warsaw is the capital city of Poland. Kraków is an old city in the south."
PROMPT = f"Context:\n[1] (notes.md:3-3)\n{PASSAGE}\n\nQuestion: Which city is the capital?\nAnswer:"


def test_engine_sparse_greedy_equals_the_dense_path(engine: Engine) -> None:
    grounding = GroundingInput("Which city is the capital?", (SourceText("notes.md:3-3", PASSAGE),))
    base = {"max_new_tokens": 24, "grounding": "copy", "grounded_stop": False, "top_logprobs": 5}
    sparse = engine.generate(PROMPT, DecodingSettings(**base), grounding=grounding)  # type: ignore[arg-type]
    # A no-repeat n-gram size longer than prompt + answer bans nothing but is a second
    # processor: the sampler then takes the dense path.
    dense_settings = DecodingSettings(**base, no_repeat_ngram_size=64)  # type: ignore[arg-type]
    dense = engine.generate(PROMPT, dense_settings, grounding=grounding)
    assert [s.token_id for s in sparse.steps] == [s.token_id for s in dense.steps]
    assert any(s.provenance and s.provenance.copied for s in sparse.steps)
    for a, b in zip(sparse.steps, dense.steps, strict=True):
        assert a.rank == b.rank
        assert a.logprob == pytest.approx(b.logprob, abs=1e-6)
        assert a.processed_logprob == pytest.approx(b.processed_logprob, abs=1e-5)
        assert [p.token_id for p in a.top] == [p.token_id for p in b.top]
        assert [p.token_id for p in a.top_processed] == [p.token_id for p in b.top_processed]
        for p, q in zip(a.top_processed, b.top_processed, strict=True):
            assert p.logprob == pytest.approx(q.logprob, abs=1e-5)
        pa, pb = a.provenance, b.provenance
        assert pa is not None and pb is not None
        assert (pa.source, pa.passage, pa.line, pa.match_length) == (
            pb.source,
            pb.passage,
            pb.line,
            pb.match_length,
        )
        assert (pa.copy_prob, pa.weight) == (pb.copy_prob, pb.weight)
        assert pa.model_prob == pytest.approx(pb.model_prob, rel=1e-5, abs=1e-8)
