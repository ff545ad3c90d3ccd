"""Train a byte-level BPE tokenizer (GPT-2 style) and wrap it as a (fast) GPT2Tokenizer."""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import ByteLevelBPETokenizer
from transformers import GPT2Tokenizer

END_OF_TEXT = "<|endoftext|>"


def train_tokenizer(texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> GPT2Tokenizer:
    """Byte-level BPE over ``texts``; ``<|endoftext|>`` is bos, eos, unk and padding.

    Byte-level means every string can be encoded (unknown words fall back to bytes), so a
    tokenizer trained on a small folder still handles any user input.
    """
    bpe = ByteLevelBPETokenizer(add_prefix_space=False)
    bpe.train_from_iterator(
        list(texts),
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[END_OF_TEXT],
        show_progress=False,
    )
    tokenizer = GPT2Tokenizer(
        tokenizer_object=bpe._tokenizer,
        bos_token=END_OF_TEXT,
        eos_token=END_OF_TEXT,
        unk_token=END_OF_TEXT,
        pad_token=END_OF_TEXT,
    )
    # GPT-2 itself has no padding token; setting it here keeps batched generation quiet.
    tokenizer.model_max_length = 1024
    return tokenizer
