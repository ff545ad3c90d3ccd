"""Decoding flags shared by every command that generates (generate, ask, chat)."""

from __future__ import annotations

import argparse
from typing import Any

from assistant.core.decoding import (
    GROUNDING_MODES,
    PRECISIONS,
    PRESETS,
    STRATEGIES,
    DecodingSettings,
    preset,
)

_FLAGS: list[tuple[str, type, str]] = [
    ("temperature", float, "divide logits by T before sampling (sample)"),
    ("top_k", int, "keep the k most likely tokens, 0 = off (sample)"),
    ("top_p", float, "nucleus: smallest set with mass ≥ p, 1 = off (sample)"),
    ("typical_p", float, "locally typical sampling mass, 1 = off (sample)"),
    ("repetition_penalty", float, "CTRL-style penalty on seen tokens, 1 = off"),
    ("no_repeat_ngram_size", int, "forbid repeating n-grams of this size, 0 = off"),
    ("num_beams", int, "beams for --strategy beam"),
    ("length_penalty", float, "beam score = logprob / length**penalty"),
    ("max_new_tokens", int, "generate at most this many tokens"),
    ("seed", int, "random seed for reproducible sampling"),
    ("top_logprobs", int, "alternatives to report per token, 0-20"),
    ("copy_strength", float, "grounding: the most weight the passage copy gets, (0, 1]"),
    ("cad_alpha", float, "grounding copy+cad: context-aware decoding strength α, 0-10"),
    ("grounded_sentences", int, "grounded stop: copied sentences before the answer may end"),
]


def add_decoding_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("decoding")
    group.add_argument("--preset", choices=sorted(PRESETS), help="start from a named preset")
    group.add_argument("--strategy", choices=STRATEGIES, help="greedy, sample or beam")
    for name, kind, help_text in _FLAGS:
        group.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, help=help_text)
    group.add_argument(
        "--stop", action="append", metavar="TEXT", help="stop before this text (repeatable)"
    )
    group.add_argument(
        "--grounding",
        choices=GROUNDING_MODES,
        help="answer from the prompt's passages: off, copy, copy+cad (ask and chat: copy)",
    )
    group.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="exact (fp32, the default), fast-prefill (the prompt through int8 weights) or "
        "fast (int8 throughout); benchmarks/latency.py measures the error",
    )
    group.add_argument(
        "--grounded-stop",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="end at a copied sentence's end once the model leaves the passages (default on)",
    )


def decoding_from_args(args: argparse.Namespace, **defaults: Any) -> DecodingSettings:
    """Preset (if any) < command defaults < explicit flags. Raises UsageError when invalid."""
    values: dict[str, Any] = preset(args.preset).to_dict() if args.preset else {}
    if not args.preset:
        values.update(defaults)
    for name in [
        "strategy",
        "grounding",
        "precision",
        "grounded_stop",
        *(flag for flag, _, _ in _FLAGS),
    ]:
        value = getattr(args, name, None)
        if value is not None:
            values[name] = value
    if args.stop:
        values["stop"] = [s.encode().decode("unicode_escape") for s in args.stop]
    return DecodingSettings.from_mapping(values)
