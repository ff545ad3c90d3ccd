"""Tokenization: every token's id, spelling, bytes and word split; decoding the ids gives the
text back in every script, for the bundled model's tokenizer and a tiny trained one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.core.models import BUNDLED_MODEL_DIR, load_model
from assistant.core.tokenization import token_bytes, tokenize
from assistant.errors import UsageError
from tests.conftest import SHARED_DIR

TEXTS = {
    "english": "Tokenization splits words into pieces, doesn't it?",
    "polish": "Zażółć gęślą jaźń — pretrenowanie modeli językowych.",
    "russian": "Съешь же ещё этих мягких французских булок.",
    "japanese": "日本語のテキストをトークンに分割します。",
    "chinese": "中文文本的分词。",
    "emoji": "thumbs 👍🏽 family 👨‍👩‍👧 flag 🇵🇱!",
    "whitespace": "  two\t\ttabs\n\n\nthree newlines     five spaces \r\n end ",
    "special": "<|endoftext|>after the end",
}


@pytest.fixture(scope="module", params=["bundled", "tiny"])
def tokenizer(request: pytest.FixtureRequest, tiny_model_dir: Path) -> object:
    source = str(BUNDLED_MODEL_DIR) if request.param == "bundled" else str(tiny_model_dir)
    return load_model(source, allow_fallback=False).tokenizer


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_decoding_the_ids_gives_the_text_back(tokenizer: object, name: str) -> None:
    text = TEXTS[name]
    result = tokenize(tokenizer, text, 1024)
    assert result.round_trips and result.decoded == text
    # The tokens' bytes, joined, are the text's bytes: nothing lost or invented.
    joined = b"".join(bytes.fromhex(p.bytes_hex) for p in result.pieces)
    assert joined == text.encode("utf-8")
    assert result.count == len(result.ids) > 0


def test_the_course_seed_pages_round_trip(tokenizer: object) -> None:
    seeds = sorted((SHARED_DIR / "course-seeds").glob("*.txt"))
    if not seeds:
        pytest.skip("no course seed pages next to the repository")
    for path in seeds[:3]:
        text = path.read_text(encoding="utf-8")[:6000]
        result = tokenize(tokenizer, text, 1024)
        assert result.round_trips, path.name
        assert b"".join(bytes.fromhex(p.bytes_hex) for p in result.pieces) == text.encode()


def test_partial_characters_are_marked_and_their_bytes_shown() -> None:
    tok = load_model(str(BUNDLED_MODEL_DIR), allow_fallback=False).tokenizer
    result = tokenize(tok, "中文", 1024)
    # Two three-byte characters: six bytes in all, some token holds part of a character.
    assert sum(len(bytes.fromhex(p.bytes_hex)) for p in result.pieces) == 6
    partial = [p for p in result.pieces if not p.valid_utf8]
    assert partial, "the bundled tokenizer spells these characters byte by byte"
    for p in partial:
        with pytest.raises(UnicodeDecodeError):
            bytes.fromhex(p.bytes_hex).decode("utf-8")
    # A token starting on a continuation byte (10xxxxxx) starts inside a character.
    for p in result.pieces:
        first = bytes.fromhex(p.bytes_hex)[0]
        assert p.inside_character == (first & 0xC0 == 0x80)
        if p.inside_character:
            assert not p.starts_word


def test_word_splits_follow_spaces_and_word_characters() -> None:
    tok = load_model(str(BUNDLED_MODEL_DIR), allow_fallback=False).tokenizer
    result = tokenize(tok, "Tokenization is fun", 1024)
    texts = [p.text for p in result.pieces]
    assert "".join(texts) == "Tokenization is fun"
    for p in result.pieces:
        starts_with_space = p.text[:1].isspace()
        after_word_char = p.index > 0 and result.pieces[p.index - 1].text[-1:].isalnum()
        assert p.starts_word == (p.index == 0 or starts_with_space or not after_word_char)
    words = {s.word: s.tokens for s in result.splits}
    first_word_tokens = [p.index for p in result.pieces if p.end <= len("Tokenization")]
    if len(first_word_tokens) > 1:
        assert words["Tokenization"] == tuple(first_word_tokens)
    assert all(len(s.tokens) > 1 for s in result.splits)


def test_special_tokens_are_marked(tokenizer: object) -> None:
    result = tokenize(tokenizer, TEXTS["special"], 1024)
    assert result.pieces[0].special and result.pieces[0].piece == "<|endoftext|>"
    assert not any(p.special for p in result.pieces[1:])
    assert token_bytes(tokenizer, result.pieces[0].token_id) == b"<|endoftext|>"


def test_the_count_is_against_the_context() -> None:
    tok = load_model(str(BUNDLED_MODEL_DIR), allow_fallback=False).tokenizer
    count = tokenize(tok, "hello world", 1024).count
    exact = tokenize(tok, "hello world", count)
    assert exact.fits and exact.to_dict()["fits_context"] is True
    over = tokenize(tok, "hello world", count - 1)
    assert not over.fits and over.to_dict()["fits_context"] is False


def test_empty_text_is_a_usage_error() -> None:
    tok = load_model(str(BUNDLED_MODEL_DIR), allow_fallback=False).tokenizer
    with pytest.raises(UsageError, match="empty text"):
        tokenize(tok, "", 1024)


def test_cli_tokenize_json(capsys: pytest.CaptureFixture[str], tiny_model_dir: Path) -> None:
    text = TEXTS["polish"]
    code = main(["tokenize", text, "--model", str(tiny_model_dir), "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    data = json.loads(out)
    assert data["round_trips"] is True and data["text"] == text
    assert data["context_length"] == 128 and data["count"] == len(data["ids"])
    assert [t["token_id"] for t in data["tokens"]] == data["ids"]
    assert {"piece", "bytes_hex", "valid_utf8", "starts_word"} <= set(data["tokens"][0])


def test_cli_tokenize_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["tokenize", "Tokenization rocks", "--model", str(BUNDLED_MODEL_DIR)])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "tokens of 1,024 context" in out


def test_cli_tokenize_empty_is_one_line_error(
    capsys: pytest.CaptureFixture[str], tiny_model_dir: Path
) -> None:
    code = main(["tokenize", "", "--model", str(tiny_model_dir)])
    _, err = capsys.readouterr()
    assert code == 2 and err.strip() == "error: empty text: give some text to tokenize"
