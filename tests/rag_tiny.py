"""A tiny sentence-transformers model built in-process: random BERT + trained WordPiece.

It runs the real loading and encoding code paths in milliseconds. Its vectors carry little
meaning, so tests use it for mechanics (chunking limits, store consistency, crashes), and the
real all-MiniLM-L6-v2 for retrieval quality.
"""

from __future__ import annotations

from pathlib import Path

TRAINING_TEXT = [
    "Warsaw is the capital city of Poland. Kraków is an old city in the south.",
    "Beam search keeps the best partial sequences at every step of decoding.",
    "Greedy decoding picks the most probable token; sampling draws from the distribution.",
    "Zażółć gęślą jaźń. Съешь же ещё этих мягких французских булок. 日本語のテキスト。中文文本。",
    "The transformer uses attention with queries, keys and values; GPT-2 is a decoder.",
    "Embeddings map text to vectors; retrieval finds the nearest passages by cosine.",
]


def build_tiny_embedder(out_dir: Path, *, max_seq_length: int = 64, seed: int = 0) -> Path:
    """Save a tiny sentence-transformers model (mean pooling, 32 dims) to ``out_dir``."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    bert_dir = out_dir / "bert"
    bert_dir.mkdir(parents=True, exist_ok=True)
    wordpiece = BertWordPieceTokenizer(lowercase=True)
    wordpiece.train_from_iterator(TRAINING_TEXT * 10, vocab_size=300, min_frequency=1)
    tokenizer = BertTokenizerFast(tokenizer_object=wordpiece._tokenizer, model_max_length=128)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(bert_dir)
    tokenizer.save_pretrained(bert_dir)
    transformer = Transformer(str(bert_dir), max_seq_length=max_seq_length)
    model = SentenceTransformer(modules=[transformer, Pooling(32, "mean")], device="cpu")
    model_dir = out_dir / "model"
    model.save(str(model_dir))
    return model_dir
