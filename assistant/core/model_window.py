"""Which tokens the model reads when we look inside it at one position of a text.

The logit lens and the attention view both ask about one position N: the model reads tokens
0..N (it is causal, so later tokens change nothing there) and predicts token N+1. A text longer
than the context keeps the ``context_length`` tokens that end at N; how many were left out is
reported, never silent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.errors import UsageError


@dataclass(frozen=True)
class PositionWindow:
    """Tokens ``start .. position`` of a text (positions count the whole text's tokens)."""

    ids: tuple[int, ...]  # what the model reads: the text's ids[start : position + 1]
    start: int  # the text's first token read; > 0 when the text was cut to the context
    position: int  # the position whose next token is predicted
    next_id: int | None  # the text's own token at position + 1, if the text goes on

    @property
    def truncated_tokens(self) -> int:
        return self.start

    def truncation_note(self, context_length: int) -> str | None:
        """One line for the user when the start of the text was left out."""
        if not self.start:
            return None
        return (
            f"the model reads at most {context_length} tokens: the first {self.start} tokens "
            f"of the text are left out at position {self.position}"
        )


def window_at(ids: Sequence[int], position: int | None, context_length: int) -> PositionWindow:
    """The window for ``position`` (None: the last token; negative: counted from the end)."""
    count = len(ids)
    if count == 0:
        raise UsageError("empty text: give some text")
    if position is None:
        position = count - 1
    if not -count <= position < count:
        raise UsageError(
            f"invalid position: the text has {count} tokens, give 0..{count - 1} "
            f"(or -1 for the last) (got {position})"
        )
    position %= count
    start = max(0, position + 1 - context_length)
    next_id = int(ids[position + 1]) if position + 1 < count else None
    return PositionWindow(
        ids=tuple(int(i) for i in ids[start : position + 1]),
        start=start,
        position=position,
        next_id=next_id,
    )
