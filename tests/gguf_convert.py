"""Convert a GPT-2 checkpoint (HF safetensors + tokenizer.json) to an f32 GGUF that llama.cpp
loads, with the ``gguf`` package's writer: what llama.cpp's convert_hf_to_gguf.py does for
GPT2LMHeadModel, without its pre-tokenizer hash check (which does not know the bundled
model's own BPE; it is byte-level BPE with GPT-2's split regex, so ``pre`` is "gpt-2").

    python tests/gguf_convert.py assistant/resources/model /tmp/bundled.gguf
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

# HF names (after "transformer.") -> GGUF names; Conv1D weights are stored (in, out) and
# GGUF wants (out, in), so those are transposed.
_BLOCK = {
    "ln_1": "attn_norm",
    "attn.c_attn": "attn_qkv",
    "attn.c_proj": "attn_output",
    "ln_2": "ffn_norm",
    "mlp.c_fc": "ffn_up",
    "mlp.c_proj": "ffn_down",
}
_CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def _gguf_name(name: str) -> str | None:
    name = name.removeprefix("transformer.")
    if name in ("wte.weight", "lm_head.weight"):
        return "token_embd.weight" if name == "wte.weight" else "output.weight"
    if name == "wpe.weight":
        return "position_embd.weight"
    if name.startswith("ln_f."):
        return "output_norm." + name.split(".")[-1]
    if name.startswith("h."):
        _, block, rest = name.split(".", 2)
        if rest.endswith((".attn.bias", ".masked_bias")) or rest in (
            "attn.bias",
            "attn.masked_bias",
        ):
            return None
        module, _, kind = rest.rpartition(".")
        if module in _BLOCK:
            return f"blk.{block}.{_BLOCK[module]}.{kind}"
    raise ValueError(f"unknown GPT-2 tensor {name!r}")


def convert(model_dir: Path, out: Path) -> Path:
    import gguf
    from safetensors.numpy import load_file

    config = json.loads((model_dir / "config.json").read_text())
    tok = json.loads((model_dir / "tokenizer.json").read_text())
    tensors = load_file(str(model_dir / "model.safetensors"))

    writer = gguf.GGUFWriter(str(out), "gpt2")
    writer.add_name(model_dir.name)
    writer.add_block_count(config["n_layer"])
    writer.add_context_length(config["n_positions"])
    writer.add_embedding_length(config["n_embd"])
    writer.add_feed_forward_length(config.get("n_inner") or 4 * config["n_embd"])
    writer.add_head_count(config["n_head"])
    writer.add_layer_norm_eps(config["layer_norm_epsilon"])
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)

    vocab = tok["model"]["vocab"]
    size = config["vocab_size"]
    by_id = {i: t for t, i in vocab.items()}
    special = {a["id"]: a["content"] for a in tok.get("added_tokens", [])}
    tokens, types = [], []
    for i in range(size):
        if i in special:
            tokens.append(special[i])
            types.append(gguf.TokenType.CONTROL)
        elif i in by_id:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.NORMAL)
        else:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(config["bos_token_id"])
    writer.add_eos_token_id(config["eos_token_id"])
    writer.add_add_bos_token(False)

    for name, array in tensors.items():
        target = _gguf_name(name)
        if target is None:
            continue
        data = np.ascontiguousarray(array.astype(np.float32))
        if name.endswith(_CONV1D):
            data = np.ascontiguousarray(data.T)
        writer.add_tensor(target, data)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


if __name__ == "__main__":
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
    print(sys.argv[2])
