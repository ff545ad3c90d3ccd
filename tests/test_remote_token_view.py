"""The token view says what a remote model's probabilities are: raw, from the server, with no
after-processor column (the server does not report it), and a rank past the alternatives."""

from __future__ import annotations

from assistant.core.types import TokenProb, TokenStep
from assistant.tui.widgets.token_panel import TokenPanel


def step(probabilities: str, rank: int = 1) -> TokenStep:
    return TokenStep(
        index=0, token_id=5, text="a", logprob=-1.0, processed_logprob=-1.0, rank=rank,
        top=(TokenProb(5, "a", 0.37, -1.0), TokenProb(6, "b", 0.2, -1.6)), token="a",
        probabilities=probabilities,
    )  # fmt: skip


def test_remote_step_says_the_processed_distribution_is_not_reported() -> None:
    text = TokenPanel()._probabilities(step("server-raw"), None).plain
    assert "from the model server" in text
    assert "after processors: not reported by the server" in text
    assert "below the alternatives" not in text


def test_remote_rank_past_the_alternatives_says_so() -> None:
    text = TokenPanel()._probabilities(step("server-raw", rank=3), None).plain
    assert "rank 3 (below the alternatives sent)" in text


def test_local_step_keeps_its_after_processors_line() -> None:
    text = TokenPanel()._probabilities(step("local"), None).plain
    assert "after processors p=" in text and "server" not in text
