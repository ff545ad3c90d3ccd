"""The decoding settings as form text, and presets that keep the grounding choice.

Plain functions (no Textual): the settings screen and /preset use them, and so do the unit
tests. Validation stays DecodingSettings' own; parsing only turns text into loose values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.core.decoding import DecodingSettings

# The measured error of each precision (benchmarks/latency.py, fast_mode_kl: KL per answer
# step against exact, teacher-forced, bundled model), so a teacher knows when numbers are exact.
PRECISION_HELP = (
    "exact = fp32 (the true numbers); fast-prefill = prompt through int8 weights, "
    "mean KL 0.0004, top-1 99%; fast = int8 throughout, mean KL 0.003"
)
HELP = {
    "strategy": "greedy, sample or beam",
    "temperature": "sample: > 0, 1 = unchanged",
    "top_k": "sample: keep the k most likely, 0 = off",
    "top_p": "sample: nucleus mass, 1 = off",
    "typical_p": "sample: typical mass, 1 = off",
    "repetition_penalty": "1 = off",
    "no_repeat_ngram_size": "0 = off",
    "num_beams": "beam only",
    "length_penalty": "beam only",
    "max_new_tokens": "answer length limit",
    "stop": 'JSON list, e.g. ["\\n\\n", "Q:"]',
    "seed": "empty = random",
    "top_logprobs": "alternatives kept per token",
    "grounding": "off, copy or copy+cad (passages in the prompt)",
    "copy_strength": "grounding: copy weight ceiling, (0, 1]",
    "cad_alpha": "copy+cad: guidance strength α",
    "grounded_stop": "true/false: end after a copied sentence",
    "grounded_sentences": "grounded_stop: at the n-th copied sentence",
    "precision": PRECISION_HELP,
}
TEXT_FIELDS = ("strategy", "grounding", "precision")  # chosen from a list, passed on as text
BOOL_FIELDS = ("grounded_stop",)
# What a preset leaves as it was: presets are about sampling, not about the passages.
GROUNDING_FIELDS = (
    "grounding",
    "copy_strength",
    "cad_alpha",
    "grounded_stop",
    "grounded_sentences",
)


def form_values(settings: DecodingSettings) -> dict[str, str]:
    """Each field as the text its input shows."""
    values: dict[str, str] = {}
    for name, value in settings.to_dict().items():
        if name == "stop":  # JSON, so stop strings with newlines or commas survive the form
            values[name] = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, bool):
            values[name] = "true" if value else "false"
        else:
            values[name] = "" if value is None else str(value)
    return values


def parse_form(raw: Mapping[str, str]) -> dict[str, Any]:
    """Text inputs → loose values for DecodingSettings.from_mapping (which validates)."""
    out: dict[str, Any] = {}
    for name, text in raw.items():
        text = text.strip()
        if name in TEXT_FIELDS:
            out[name] = text
        elif name in BOOL_FIELDS:
            # Anything but true/false goes on as text: DecodingSettings names the field.
            out[name] = {"true": True, "false": False}.get(text.lower(), text)
        elif name == "stop":
            out[name] = _stop_list(text)
        elif name == "seed" and not text:
            out[name] = None
        else:
            out[name] = _number(text)
    return out


def preset_form(name: str, raw: Mapping[str, str]) -> dict[str, str]:
    """The form after picking preset ``name``: the preset's fields, with the seed and the
    grounding fields as they were in ``raw``; beam search cannot be grounded, so a beam
    preset turns grounding off (its strength and α stay for the next grounded preset)."""
    from assistant.core.decoding import preset

    chosen = preset(name)
    return form_values(chosen) | _carried_over(chosen, raw)


def preset_keeping_grounding(name: str, current: DecodingSettings | None) -> DecodingSettings:
    """Preset ``name`` with the seed and grounding of ``current`` (grounding off for beam);
    raises UsageError for an unknown preset."""
    from assistant.core.decoding import preset

    chosen = preset(name)
    if current is None:
        return chosen
    return chosen.replace(**_carried_over(chosen, current.to_dict()))


def _carried_over(chosen: DecodingSettings, current: Mapping[str, Any]) -> dict[str, Any]:
    """What a preset keeps of the current settings: the seed and the grounding fields, with
    grounding off when the preset is beam search."""
    kept = {field: current[field] for field in ("seed", *GROUNDING_FIELDS) if field in current}
    if chosen.strategy == "beam":
        kept["grounding"] = "off"
    return kept


def _stop_list(text: str) -> tuple[str, ...]:
    from assistant.errors import UsageError

    try:
        value = json.loads(text or "[]")
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(
            "invalid decoding setting 'stop': must be a JSON list of strings, "
            f'e.g. ["\\n\\n"] (got {text!r})'
        )
    return tuple(value)


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text  # not a number: DecodingSettings names the field in its error
