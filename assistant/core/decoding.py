"""Decoding settings (validated) and presets. Pure Python: importing this module must not
load torch (the CLI and the TUI build settings long before a model is loaded); the HF logits
processors built from the settings live in ``processors``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from assistant.errors import UsageError

Strategy = Literal["greedy", "sample", "beam"]
STRATEGIES: tuple[str, ...] = ("greedy", "sample", "beam")
# Grounding in the passages of the prompt (see core/grounding.py): off; copy (the passage-copy
# distribution mixed into the model's); copy+cad (also context-aware decoding, Shi et al. 2023:
# (1+α)·log p(y | passages, question) − α·log p(y | question)).
Grounding = Literal["off", "copy", "copy+cad"]
GROUNDING_MODES: tuple[str, ...] = ("off", "copy", "copy+cad")
MAX_TOP_LOGPROBS = 20
# Which weights compute the probabilities (see core/decode_plan.py, docs/latency.md): exact
# (fp32 throughout); fast-prefill (the prompt through int8 weights, the answer fp32); fast
# (int8 throughout). The error of each is measured by benchmarks/latency.py (fast_mode_kl).
Precision = Literal["exact", "fast-prefill", "fast"]
PRECISIONS: tuple[str, ...] = ("exact", "fast-prefill", "fast")

# (low, high, low inclusive, high inclusive) for each numeric field; messages quote these.
_RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "temperature": (0.0, 100.0, False, True),
    "top_k": (0, 1_000_000, True, True),
    "top_p": (0.0, 1.0, False, True),
    "typical_p": (0.0, 1.0, False, True),
    "repetition_penalty": (0.0, 10.0, False, True),
    "no_repeat_ngram_size": (0, 64, True, True),
    "num_beams": (1, 32, True, True),
    "length_penalty": (-10.0, 10.0, True, True),
    "max_new_tokens": (1, 4096, True, True),
    "seed": (0, 2**63 - 1, True, True),
    "top_logprobs": (0, MAX_TOP_LOGPROBS, True, True),
    "copy_strength": (0.0, 1.0, False, True),
    "cad_alpha": (0.0, 10.0, True, True),
    "grounded_sentences": (1, 100, True, True),
}
_INT_FIELDS = {
    "top_k",
    "no_repeat_ngram_size",
    "num_beams",
    "max_new_tokens",
    "seed",
    "top_logprobs",
    "grounded_sentences",
}


def _range_text(low: float, high: float, low_incl: bool, high_incl: bool) -> str:
    left = "≥" if low_incl else ">"
    right = "≤" if high_incl else "<"
    return f"{left} {low:g} and {right} {high:g}"


@dataclass(frozen=True)
class DecodingSettings:
    """Every knob of decoding. Invalid values raise UsageError naming the field and range."""

    strategy: Strategy = "greedy"
    temperature: float = 1.0
    top_k: int = 0  # 0 = off
    top_p: float = 1.0  # 1.0 = off
    typical_p: float = 1.0  # 1.0 = off
    repetition_penalty: float = 1.0  # 1.0 = off
    no_repeat_ngram_size: int = 0  # 0 = off
    num_beams: int = 4  # beam strategy only
    length_penalty: float = 1.0  # beam strategy only
    max_new_tokens: int = 64
    stop: tuple[str, ...] = field(default_factory=tuple)
    seed: int | None = None
    top_logprobs: int = 5
    # Grounding applies only when the caller gives passages (the chat and `ask` do).
    grounding: Grounding = "off"
    copy_strength: float = 0.9  # λ's ceiling: λ = strength · m / (m + 1) at match length m
    cad_alpha: float = 0.5  # copy+cad only: guidance scale 1 + α
    # End at the end of a copied sentence (the grounded_sentences-th, or its passage's last)
    # once the model's own continuation leaves the passages.
    grounded_stop: bool = True
    # Three: measured with benchmarks/answer_rate.py --pipeline (docs/grounding.md).
    grounded_sentences: int = 3
    precision: Precision = "exact"

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise UsageError(
                f"invalid decoding setting 'strategy': must be one of {', '.join(STRATEGIES)} "
                f"(got {self.strategy!r})"
            )
        for name, (low, high, low_incl, high_incl) in _RANGES.items():
            value = getattr(self, name)
            if value is None and name == "seed":
                continue
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            if name in _INT_FIELDS and not (is_number and float(value).is_integer()):
                raise UsageError(
                    f"invalid decoding setting {name!r}: must be an integer (got {value!r})"
                )
            if not is_number or value != value:  # NaN fails every comparison
                raise UsageError(
                    f"invalid decoding setting {name!r}: must be a number (got {value!r})"
                )
            too_low = value < low if low_incl else value <= low
            too_high = value > high if high_incl else value >= high
            if too_low or too_high:
                raise UsageError(
                    f"invalid decoding setting {name!r}: must be "
                    f"{_range_text(low, high, low_incl, high_incl)} (got {value!r})"
                )
        if self.grounding not in GROUNDING_MODES:
            raise UsageError(
                f"invalid decoding setting 'grounding': must be one of "
                f"{', '.join(GROUNDING_MODES)} (got {self.grounding!r})"
            )
        if self.precision not in PRECISIONS:
            raise UsageError(
                f"invalid decoding setting 'precision': must be one of "
                f"{', '.join(PRECISIONS)} (got {self.precision!r})"
            )
        if self.grounding != "off" and self.strategy == "beam":
            raise UsageError(
                "invalid decoding setting 'grounding': beam search runs without grounding "
                "(use greedy or sample, or set grounding to off)"
            )
        if not isinstance(self.grounded_stop, bool):
            raise UsageError(
                f"invalid decoding setting 'grounded_stop': must be true or false "
                f"(got {self.grounded_stop!r})"
            )
        if self.strategy == "beam" and self.num_beams < 2:
            raise UsageError("invalid decoding setting 'num_beams': beam search needs ≥ 2 beams")
        if not isinstance(self.stop, tuple) or not all(isinstance(s, str) and s for s in self.stop):
            raise UsageError("invalid decoding setting 'stop': must be a list of non-empty strings")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DecodingSettings:
        """Build from loose input (CLI flags, JSON, UI form); unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise UsageError(f"unknown decoding setting(s): {', '.join(unknown)}")
        clean = {k: v for k, v in values.items() if v is not None or k == "seed"}
        if "stop" in clean:
            stop = clean["stop"]
            clean["stop"] = (stop,) if isinstance(stop, str) else tuple(stop)
        return cls(**clean)

    def replace(self, **changes: Any) -> DecodingSettings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["stop"] = list(self.stop)
        return data


PRESETS: dict[str, DecodingSettings] = {
    "greedy": DecodingSettings(strategy="greedy"),
    "balanced": DecodingSettings(
        strategy="sample", temperature=0.7, top_p=0.9, repetition_penalty=1.1
    ),
    "creative": DecodingSettings(strategy="sample", temperature=1.0, top_p=0.95, top_k=0),
    "beam": DecodingSettings(
        strategy="beam", num_beams=4, no_repeat_ngram_size=3, length_penalty=1.0
    ),
}


def preset(name: str, **overrides: Any) -> DecodingSettings:
    try:
        base = PRESETS[name]
    except KeyError:
        raise UsageError(
            f"unknown decoding preset {name!r}: choose one of {', '.join(PRESETS)}"
        ) from None
    return base.replace(**overrides) if overrides else base


def hf_generate_kwargs(settings: DecodingSettings) -> dict[str, Any]:
    """The same settings spelled as HF ``generate`` arguments (beam search, golden tests)."""
    kwargs: dict[str, Any] = {
        "max_new_tokens": settings.max_new_tokens,
        "repetition_penalty": settings.repetition_penalty,
        "no_repeat_ngram_size": settings.no_repeat_ngram_size,
        "do_sample": settings.strategy == "sample",
    }
    if settings.strategy == "beam":
        kwargs.update(num_beams=settings.num_beams, length_penalty=settings.length_penalty)
    if settings.strategy == "sample":
        kwargs.update(
            temperature=settings.temperature,
            top_k=settings.top_k,
            top_p=settings.top_p,
            typical_p=settings.typical_p,
        )
    return kwargs
