"""The bundled offline model: small enough, loadable, and documented with its figures."""

from __future__ import annotations

from pathlib import Path

from transformers import AutoModelForCausalLM, AutoTokenizer

BUNDLED = Path(__file__).resolve().parent.parent / "assistant" / "resources" / "model"


def test_bundled_model_is_small_loads_and_has_a_card_with_its_figures() -> None:
    files = {p.name: p.stat().st_size for p in BUNDLED.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md"} <= set(files)
    assert sum(files.values()) <= 20 * 1024 * 1024
    tokenizer = AutoTokenizer.from_pretrained(BUNDLED)
    model = AutoModelForCausalLM.from_pretrained(BUNDLED)
    assert model.config.model_type == "gpt2" and model.config.n_positions == 1024
    assert tokenizer.eos_token == "<|endoftext|>"
    ids = tokenizer("Beam search keeps", return_tensors="pt").input_ids
    out = model.generate(
        ids, max_new_tokens=4, do_sample=False, pad_token_id=tokenizer.eos_token_id
    )
    assert out.shape[1] == ids.shape[1] + 4
    card = (BUNDLED / "README.md").read_text(encoding="utf-8")
    state_free = card.lower()
    for needle in ("held-out perplexity", "answer rate", "train corpus --out", "training time"):
        assert needle in state_free
    params = sum(p.numel() for p in model.parameters())
    assert f"{params:,} parameters" in card
