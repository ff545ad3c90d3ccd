"""Tiny GPT-2 models built in-process: random weights (fixed seed) and a small trained
byte-level BPE tokenizer. No network, a few seconds at most."""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import ByteLevelBPETokenizer
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

TRAINING_TEXT = [
    "Warsaw is the capital city of Poland. Kraków is an old city in the south.",
    "Beam search keeps the best partial sequences at every step of decoding.",
    "Greedy decoding picks the most probable token; sampling draws from the distribution.",
    "Top-k keeps the k most likely tokens, nucleus sampling keeps the smallest set above p.",
    "Zażółć gęślą jaźń. Съешь же ещё этих мягких французских булок. 日本語のテキスト。中文文本。",
    "The transformer uses attention with queries, keys and values; GPT-2 is a decoder.",
]


def build_tiny_model(
    out_dir: Path,
    *,
    vocab_size: int = 400,
    n_positions: int = 128,
    n_layer: int = 2,
    n_embd: int = 32,
    seed: int = 0,
) -> Path:
    """Save a tiny GPT-2 + tokenizer to ``out_dir`` and return it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        TRAINING_TEXT * 20, vocab_size=vocab_size, min_frequency=1, special_tokens=["<|endoftext|>"]
    )
    tokenizer = GPT2TokenizerFast(
        tokenizer_object=bpe._tokenizer,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=n_positions,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=2,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = GPT2LMHeadModel(config)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
