"""How a tokenizer cuts a text: ids, token strings, each token's bytes, and where a word was
split. Plain Python over the tokenizer (no torch), so the CLI and the TUI can show it for
any GPT-2-family model.

GPT-2's byte-level BPE works on UTF-8 bytes, so a token may hold part of a character (a
Chinese character is three bytes, an emoji four): such a token is not valid UTF-8 on its own
and decodes alone to U+FFFD; its bytes are shown instead. The tokens' bytes joined are the
text's bytes exactly, which is what makes the round trip exact.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from assistant.core.tokens import byte_decoder
from assistant.errors import UsageError

MAX_TOKENIZE_CHARS = 1_000_000  # a bound on work per call (a whole book is ~ 1 MB)


@dataclass(frozen=True)
class TokenPiece:
    """One token of a tokenized text.

    ``piece`` is the token as the tokenizer spells it (GPT-2 shows a leading space as "Ġ");
    ``text`` is what the token decodes to alone (U+FFFD where it holds part of a character);
    ``start``/``end`` are character offsets into the text of the characters the token
    touches (a character split over tokens belongs to each of them)."""

    index: int
    token_id: int
    piece: str
    text: str
    bytes_hex: str
    valid_utf8: bool
    starts_word: bool  # False: it continues the word the previous token began
    inside_character: bool  # it starts in the middle of a multi-byte character
    special: bool
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WordSplit:
    """A word the tokenizer cut into several tokens."""

    word: str
    tokens: tuple[int, ...]  # token indices, in order

    def to_dict(self) -> dict[str, Any]:
        return {"word": self.word, "tokens": list(self.tokens)}


@dataclass(frozen=True)
class Tokenization:
    text: str
    pieces: tuple[TokenPiece, ...]
    splits: tuple[WordSplit, ...]
    context_length: int
    decoded: str  # the ids decoded together; equals ``text`` for a byte-level tokenizer

    @property
    def ids(self) -> list[int]:
        return [p.token_id for p in self.pieces]

    @property
    def count(self) -> int:
        return len(self.pieces)

    @property
    def round_trips(self) -> bool:
        return self.decoded == self.text

    @property
    def fits(self) -> bool:
        return self.count <= self.context_length

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "ids": self.ids,
            "count": self.count,
            "context_length": self.context_length,
            "fits_context": self.fits,
            "round_trips": self.round_trips,
            "tokens": [p.to_dict() for p in self.pieces],
            "splits": [s.to_dict() for s in self.splits],
        }


def token_bytes(tokenizer: Any, token_id: int) -> bytes:
    """The bytes a token stands for: GPT-2's byte-level spelling mapped back to bytes; for a
    tokenizer that is not byte-level, the UTF-8 of its decoded text."""
    piece = tokenizer.convert_ids_to_tokens(token_id)
    table = byte_decoder()
    if isinstance(piece, str) and piece and all(ch in table for ch in piece):
        return bytes(table[ch] for ch in piece)
    return str(tokenizer.decode([token_id], skip_special_tokens=False)).encode("utf-8")


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def tokenize(tokenizer: Any, text: str, context_length: int) -> Tokenization:
    """Tokenize ``text`` the way the engine does (no special tokens added) and describe
    every token. Raises UsageError for an empty or oversized text."""
    if not isinstance(text, str) or not text:
        raise UsageError("empty text: give some text to tokenize")
    if len(text) > MAX_TOKENIZE_CHARS:
        raise UsageError(
            f"text too long to tokenize: {len(text):,} characters (at most {MAX_TOKENIZE_CHARS:,})"
        )
    ids = [int(i) for i in tokenizer.encode(text, add_special_tokens=False)]
    special_ids = set(getattr(tokenizer, "all_special_ids", ()) or ())
    raw = [token_bytes(tokenizer, i) for i in ids]
    joined = b"".join(raw)
    # Character boundaries of the joined bytes: byte offset -> index of the character
    # starting there (the joined bytes decode to the text for a byte-level tokenizer).
    encoding = "utf-8"
    try:
        chars = joined.decode(encoding)
    except UnicodeDecodeError:  # not byte-level: one "character" per byte keeps offsets sane
        encoding = "latin-1"
        chars = joined.decode(encoding)
    char_at: dict[int, int] = {}
    offset = 0
    for number, ch in enumerate(chars):
        char_at[offset] = number
        offset += len(ch.encode(encoding))
    char_at[offset] = len(chars)

    pieces: list[TokenPiece] = []
    byte_start = 0
    for index, (token_id, data) in enumerate(zip(ids, raw, strict=True)):
        byte_end = byte_start + len(data)
        inside = byte_start not in char_at
        first = _char_index(char_at, byte_start)
        last = _char_index(char_at, byte_end, round_up=True)
        if inside:
            starts_word = False
        elif index == 0 or first >= len(chars) or first == 0:
            starts_word = True
        else:
            starts_word = not (_is_word_char(chars[first - 1]) and _is_word_char(chars[first]))
        try:
            data.decode("utf-8")
            valid = True
        except UnicodeDecodeError:
            valid = False
        pieces.append(
            TokenPiece(
                index=index,
                token_id=token_id,
                piece=str(tokenizer.convert_ids_to_tokens(token_id)),
                text=str(tokenizer.decode([token_id], skip_special_tokens=False)),
                bytes_hex=data.hex(" "),
                valid_utf8=valid,
                starts_word=starts_word,
                inside_character=inside,
                special=token_id in special_ids,
                start=first,
                end=last,
            )
        )
        byte_start = byte_end
    decoded = str(
        tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
    )
    return Tokenization(
        text=text,
        pieces=tuple(pieces),
        splits=tuple(_splits(pieces, chars)),
        context_length=context_length,
        decoded=decoded,
    )


def _char_index(char_at: dict[int, int], byte_offset: int, *, round_up: bool = False) -> int:
    """The character at ``byte_offset``; inside a character, that character (or with
    ``round_up`` the one after it, for an end offset)."""
    step = 1 if round_up else -1
    while byte_offset not in char_at:
        byte_offset += step
    return char_at[byte_offset]


def _splits(pieces: list[TokenPiece], chars: str) -> list[WordSplit]:
    """Runs of tokens that spell one word (each after the first continues it)."""
    out: list[WordSplit] = []
    run: list[TokenPiece] = []
    for piece in [*pieces, None]:
        if piece is None or piece.starts_word:
            if len(run) > 1:
                word = chars[run[0].start : run[-1].end].strip()
                out.append(WordSplit(word, tuple(p.index for p in run)))
            run = []
        if piece is not None:
            run.append(piece)
    return out


__all__ = ["TokenPiece", "Tokenization", "WordSplit", "token_bytes", "tokenize"]
