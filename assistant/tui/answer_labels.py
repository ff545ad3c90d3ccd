"""Short labels under an answer: the decoding it used and how it ended. Plain functions."""

from __future__ import annotations

from typing import Any

# How an answer ended, where it is worth saying (eos and stop strings are the normal end).
FINISH_NOTES = {
    "cancelled": "stopped",
    "length": "length limit",
    "context": "context full",
    "sentence_end": "ended after a copied sentence",
    "error": "failed",
}


# Shown under an answer decoded with int8 weights (core/decode_plan.py's labels, shortened).
PRECISION_NOTES = {"fast-prefill": "int8 prefill", "fast": "int8"}


def describe_decoding(settings: Any) -> str:
    """A short label for the settings an answer was decoded with, e.g. "sample T=0.7 p=0.9"."""
    if settings is None:
        return ""
    if settings.strategy == "beam":
        text = f"beam {settings.num_beams}"
    elif settings.strategy == "sample":
        text = f"sample T={settings.temperature:g}"
        text += f" k={settings.top_k}" if settings.top_k else ""
        text += f" p={settings.top_p:g}" if settings.top_p < 1 else ""
    else:
        text = "greedy"
    if settings.seed is not None:
        text += f" seed {settings.seed}"
    precision = getattr(settings, "precision", "exact")
    if precision != "exact":  # the probabilities are not the fp32 model's: say so
        text += f" · {PRECISION_NOTES.get(precision, precision)}"
    grounding = getattr(settings, "grounding", "off")
    if grounding != "off" and settings.strategy != "beam":
        text += f" · {grounding} λ≤{settings.copy_strength:g}"
        text += f" α={settings.cad_alpha:g}" if grounding == "copy+cad" else ""
    return text


def describe_finish(reason: str | None) -> str:
    """A few words for how an answer ended ("" for the normal ends)."""
    return FINISH_NOTES.get(reason or "", "")
