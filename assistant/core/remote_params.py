"""Our DecodingSettings spelled as an OpenAI-compatible server's /v1/completions request.

Two dialects: llama.cpp's server (its own sampler chain, whose defaults — top_k 40, top_p
0.95, min_p 0.05 — must be switched off explicitly to sample what we ask for) and vLLM (the
OpenAI fields plus its sampling extras). A setting the server cannot honour is refused by
name, in one line, before anything is sent: silently decoding something else would make the
token view lie.
"""

from __future__ import annotations

from typing import Any, Literal

from assistant.core.decoding import MAX_TOP_LOGPROBS, DecodingSettings
from assistant.errors import UsageError

ServerKind = Literal["llama.cpp", "openai"]
SERVER_NAMES: dict[str, str] = {"llama.cpp": "llama.cpp's server", "openai": "the server"}


def refused_settings(settings: DecodingSettings, kind: ServerKind) -> list[tuple[str, str]]:
    """(setting, why) for every setting the server cannot decode as we would."""
    refused: list[tuple[str, str]] = []
    if settings.strategy == "beam":
        refused.append(("strategy", "beam search is not part of the completions API"))
    if settings.no_repeat_ngram_size > 0:
        refused.append(("no_repeat_ngram_size", "no OpenAI-compatible server bans n-grams"))
    if kind == "openai" and settings.strategy == "sample" and settings.typical_p < 1.0:
        refused.append(("typical_p", "vLLM and the OpenAI API have no typical sampling"))
    if settings.precision != "exact":
        refused.append(("precision", "the server computes in the precision it was started with"))
    return refused


def check_supported(settings: DecodingSettings, kind: ServerKind) -> None:
    refused = refused_settings(settings, kind)
    if refused:
        name, why = refused[0]
        value = getattr(settings, name)
        raise UsageError(
            f"decoding setting {name!r} = {value!r} cannot be used with a remote model: {why}"
            + (f" (also refused: {', '.join(n for n, _ in refused[1:])})" if refused[1:] else "")
        )


def requested_alternatives(settings: DecodingSettings) -> int:
    """How many alternatives to ask for: at least one, so the chosen token's own
    log-probability comes back even when no alternatives are shown."""
    return max(1, min(settings.top_logprobs, MAX_TOP_LOGPROBS))


def completion_body(
    settings: DecodingSettings,
    *,
    prompt_ids: list[int],
    model: str,
    kind: ServerKind,
    max_tokens: int | None = None,
    context_length: int = 1024,
) -> dict[str, Any]:
    """The streamed /v1/completions request for ``settings`` (checked first);
    ``context_length`` is the server's, the window llama.cpp's repeat penalty looks back on."""
    check_supported(settings, kind)
    sampling = settings.strategy == "sample"
    alternatives = requested_alternatives(settings)
    body: dict[str, Any] = {
        "prompt": prompt_ids,
        "max_tokens": max_tokens if max_tokens is not None else settings.max_new_tokens,
        "stream": True,
        "logprobs": alternatives,
        # greedy is temperature 0 on both servers (an argmax, no sampler chain)
        "temperature": settings.temperature if sampling else 0.0,
        "top_p": settings.top_p if sampling else 1.0,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
    }
    if model:
        body["model"] = model
    if settings.seed is not None:
        body["seed"] = settings.seed
    if kind == "llama.cpp":
        body.update(
            n_probs=alternatives,
            post_sampling_probs=False,  # the model's own distribution, as our "raw" columns
            top_k=settings.top_k if sampling else 0,
            min_p=0.0,
            typical_p=settings.typical_p if sampling else 1.0,
            repeat_penalty=settings.repetition_penalty,
            repeat_last_n=context_length,  # HF penalises every earlier token, prompt included
            dry_multiplier=0.0,
            xtc_probability=0.0,
            top_n_sigma=-1.0,
            mirostat=0,
            cache_prompt=True,
        )
    else:
        body.update(
            top_k=settings.top_k if sampling and settings.top_k else -1,
            min_p=0.0,
            repetition_penalty=settings.repetition_penalty,
            return_tokens_as_token_ids=True,  # vLLM: "token_id:123", so ids need no lookup
        )
    return body
