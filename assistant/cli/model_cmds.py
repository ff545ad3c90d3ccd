"""Model commands: probs, generate, score, models."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from assistant.cli.common import emit_json, notice
from assistant.cli.decoding_flags import add_decoding_flags, decoding_from_args
from assistant.settings import Settings
from assistant.text_safety import escape_controls


def _engine(settings: Settings, args: argparse.Namespace) -> Any:
    from assistant.core import Engine
    from assistant.core.models import quiet_transformers

    quiet_transformers()
    engine = Engine.from_settings(settings)
    if getattr(args, "no_truncate", False):
        engine.truncate_prompt = False
    if engine.loaded.notice:
        notice(f"note: {engine.loaded.notice}")
    return engine


def _model_info(engine: Any) -> dict[str, Any]:
    loaded = engine.loaded
    return {
        "model": loaded.name,
        "source": loaded.source,
        "fallback": loaded.is_fallback,
        "bundled": loaded.is_bundled,
        "notice": loaded.notice,
        "quantized": loaded.quantized,
        "context_length": engine.context_length,
    }


def _text_arg(value: str) -> str:
    """``-`` reads the text from stdin, so long prompts need no shell quoting."""
    return sys.stdin.read() if value == "-" else value


def _shown(text: str) -> str:
    """A token as a table cell: newlines, tabs and control characters made visible."""
    return escape_controls(text, keep="")


def cmd_probs(args: argparse.Namespace, settings: Settings) -> int:
    text = _text_arg(args.text)
    engine = _engine(settings, args)
    table = engine.next_token_distribution(text, k=args.k)
    if args.json:
        emit_json(
            {
                **_model_info(engine),
                "text": text,
                "tokens": [
                    {"token_id": t.token_id, "text": t.text, "prob": t.prob, "logprob": t.logprob}
                    for t in table
                ],
            }
        )
        return 0
    from rich.console import Console
    from rich.table import Table

    out = Table(title=f"next token after {text[-60:]!r}", title_justify="left")
    for column in ("rank", "token", "id", "prob", "logprob"):
        out.add_column(column, justify="left" if column == "token" else "right")
    for rank, t in enumerate(table, start=1):
        bar = "█" * max(1, round(t.prob * 30)) if t.prob >= 1 / 60 else ""
        out.add_row(
            str(rank), _shown(t.text), str(t.token_id), f"{t.prob:.4f} {bar}", f"{t.logprob:.3f}"
        )
    Console(markup=False, highlight=False).print(out)
    return 0


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    prompt = _text_arg(args.prompt)
    decoding = decoding_from_args(args)
    engine = _engine(settings, args)
    stream = engine.stream(prompt, decoding)
    if stream.truncated_prompt_tokens:
        notice(f"note: prompt left-truncated by {stream.truncated_prompt_tokens} tokens to fit")
    if args.stream and not args.json:
        for step in stream:
            sys.stdout.write(step.text)
            sys.stdout.flush()
        sys.stdout.write("\n")
        generation = stream.result()
    else:
        for _ in stream:
            pass
        generation = stream.result()
    if args.json:
        emit_json(
            {
                **_model_info(engine),
                "prompt": prompt,
                "settings": decoding.to_dict(),
                **generation.to_dict(),
            }
        )
        return 0
    if not args.stream:
        print(generation.text)
    rate = len(generation.steps) / generation.seconds if generation.seconds else 0.0
    notice(
        f"[{len(generation.steps)} tokens, finish: {generation.finish_reason}, "
        f"logprob {generation.sequence_logprob:.2f}, perplexity {generation.perplexity:.2f}, "
        f"{rate:.1f} tokens/s]"
    )
    return 0


def cmd_score(args: argparse.Namespace, settings: Settings) -> int:
    text = _text_arg(args.text)
    engine = _engine(settings, args)
    score = engine.score(text)
    if args.json:
        emit_json({**_model_info(engine), "text": text, **score.to_dict()})
        return 0
    from rich.console import Console
    from rich.table import Table

    out = Table(title="per-token log-probabilities", title_justify="left")
    for column in ("#", "token", "prob", "logprob"):
        out.add_column(column, justify="left" if column == "token" else "right")
    for i, (tok, lp) in enumerate(zip(score.tokens, score.logprobs, strict=True), start=1):
        out.add_row(str(i), _shown(tok), f"{math.exp(lp):.4f}", f"{lp:.3f}")
    console = Console(markup=False, highlight=False)
    console.print(out)
    console.print(
        f"tokens {len(score.logprobs)}  total logprob {score.total_logprob:.3f}  "
        f"perplexity {score.perplexity:.3f}  windows {score.windows}"
    )
    return 0


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.core.models import (
        BUNDLED_MODEL_DIR,
        PRESETS,
        cached_presets,
        download_model,
        quiet_transformers,
    )

    if args.download:
        quiet_transformers()
        where = download_model(args.download)
        if args.json:
            emit_json({"downloaded": args.download, "source": where})
        else:
            print(f"downloaded {args.download} ({where}); it now loads offline")
        return 0
    cached = cached_presets()
    bundled = (BUNDLED_MODEL_DIR / "config.json").is_file()
    data: dict[str, Any] = {
        "configured": settings.model,
        "presets": [
            {
                "name": p.name,
                "hf_id": p.hf_id,
                "parameters": p.parameters,
                "note": p.note,
                "cached": cached[p.name],
            }
            for p in PRESETS.values()
        ],
        "fallback": {"path": str(BUNDLED_MODEL_DIR), "available": bundled},
    }
    if args.json:
        emit_json(data)
        return 0
    from rich.console import Console
    from rich.table import Table

    out = Table(title=f"models (configured: {settings.model})", title_justify="left")
    for column in ("name", "hf id", "params", "cached", "note"):
        out.add_column(column)
    for p in data["presets"]:
        out.add_row(
            p["name"], p["hf_id"], p["parameters"], "yes" if p["cached"] else "no", p["note"]
        )
    console = Console(markup=False, highlight=False)
    console.print(out)
    state = "available" if bundled else "missing"
    console.print(f"bundled fallback model: {BUNDLED_MODEL_DIR} ({state})")
    console.print("get a preset with network access: assistant models --download NAME")
    return 0


def _k(value: str) -> int:
    k = int(value)
    if not 1 <= k <= 1000:
        raise argparse.ArgumentTypeError("must be between 1 and 1000")
    return k


def register(sub: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document")
    common.add_argument(
        "--quantize", choices=["none", "int8"], help="dynamic int8 weights (faster)"
    )

    p = sub.add_parser("probs", parents=[common], help="next-token probability table for TEXT")
    p.add_argument("text", help="context text ('-' reads stdin)")
    p.add_argument("--k", type=_k, default=10, help="how many tokens to show (default 10)")
    p.set_defaults(func=cmd_probs)

    p = sub.add_parser(
        "generate", parents=[common], help="continue PROMPT, with per-token probabilities"
    )
    p.add_argument("prompt", help="prompt text ('-' reads stdin)")
    p.add_argument("--stream", action="store_true", help="print tokens as they are generated")
    p.add_argument(
        "--no-truncate", action="store_true", help="error instead of cutting a long prompt"
    )
    add_decoding_flags(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("score", parents=[common], help="per-token log-probabilities and perplexity")
    p.add_argument("text", help="text to score ('-' reads stdin)")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("models", help="presets, what is cached locally, the bundled fallback")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument(
        "--download", metavar="NAME", help="fetch a model into the HF cache (needs network)"
    )
    p.set_defaults(func=cmd_models)
