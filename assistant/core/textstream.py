"""Turning a stream of token ids into text: incremental detokenization and stop strings.

Both are pure and tokenizer-agnostic apart from ``decode``; the engine composes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

REPLACEMENT_CHAR = "\ufffd"


class IncrementalDecoder:
    """Decode token ids one at a time so that the pieces join to exactly ``decode(all_ids)``.

    Byte-level BPE splits a multi-byte character across tokens; decoding such a token alone
    yields U+FFFD. We decode a small window of recent ids and only emit text once it no longer
    ends in an incomplete character (the prefix/read offset scheme of HF's TextStreamer).
    """

    def __init__(self, decode: Callable[[Sequence[int]], str]) -> None:
        self._decode = decode
        self._ids: list[int] = []
        self._prefix_offset = 0
        self._read_offset = 0

    def push(self, token_id: int) -> str:
        self._ids.append(token_id)
        prefix_text = self._decode(self._ids[self._prefix_offset : self._read_offset])
        full_text = self._decode(self._ids[self._prefix_offset :])
        if full_text.endswith(REPLACEMENT_CHAR) or len(full_text) <= len(prefix_text):
            return ""  # wait for the rest of the character
        new_text = full_text[len(prefix_text) :]
        self._prefix_offset = self._read_offset
        self._read_offset = len(self._ids)
        return new_text

    def flush(self) -> str:
        """Whatever is still held (an incomplete character at the very end)."""
        prefix_text = self._decode(self._ids[self._prefix_offset : self._read_offset])
        full_text = self._decode(self._ids[self._prefix_offset :])
        self._prefix_offset = self._read_offset = len(self._ids)
        return full_text[len(prefix_text) :]


class StopMatcher:
    """Hold back text that might be the start of a stop string; report where a stop begins.

    ``feed(piece)`` returns ``(releasable_chars, stopped)``: how many characters of all text
    fed so far may be shown, and whether a stop string has appeared (the text is then cut
    right before it).
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(s for s in stops if s)
        self.text = ""
        self.stop_at: int | None = None

    def feed(self, piece: str) -> tuple[int, bool]:
        if self.stop_at is not None:
            return self.stop_at, True
        self.text += piece
        if not self.stops:
            return len(self.text), False
        longest = max(len(s) for s in self.stops)
        # Only the tail can hold a new stop: the previous text was already checked.
        window_start = max(0, len(self.text) - len(piece) - longest + 1)
        hits = [i for s in self.stops if (i := self.text.find(s, window_start)) >= 0]
        if hits:
            self.stop_at = min(hits)
            return self.stop_at, True
        return len(self.text) - self._held_suffix(longest), False

    def _held_suffix(self, longest: int) -> int:
        """Length of the longest suffix of the text that is a proper prefix of a stop string."""
        for size in range(min(longest - 1, len(self.text)), 0, -1):
            tail = self.text[-size:]
            if any(s.startswith(tail) for s in self.stops):
                return size
        return 0
