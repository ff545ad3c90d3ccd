"""Model commands: probs, generate (with --explain-step), score (one model or several),
models; tokenize registers from inspect_cmds."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from assistant.cli import inspect_cmds
from assistant.cli.common import emit_json, notice
from assistant.cli.decoding_flags import add_decoding_flags, decoding_from_args
from assistant.cli.engine_loading import engine_for, model_info, shown, text_arg
from assistant.errors import UsageError
from assistant.settings import Settings

EXPLAIN_TOP = 10  # tokens shown per pipeline stage


def cmd_probs(args: argparse.Namespace, settings: Settings) -> int:
    text = text_arg(args.text)
    engine = engine_for(settings, args)
    table = engine.next_token_distribution(text, k=args.k)
    if args.json:
        emit_json(
            {
                **model_info(engine),
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
            str(rank), shown(t.text), str(t.token_id), f"{t.prob:.4f} {bar}", f"{t.logprob:.3f}"
        )
    Console(markup=False, highlight=False).print(out)
    return 0


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    prompt = text_arg(args.prompt)
    decoding = decoding_from_args(args)
    if args.explain_step is not None and decoding.strategy == "beam":
        raise UsageError(
            "--explain-step explains greedy and sampled steps (beam search scores whole beams)"
        )
    engine = engine_for(settings, args)
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
    pipeline = None
    if args.explain_step is not None:
        pipeline = _explain(engine, prompt, generation, decoding, args.explain_step)
    if args.json:
        emit_json(
            {
                **model_info(engine),
                "prompt": prompt,
                "settings": decoding.to_dict(),
                **generation.to_dict(),
                **({"pipeline": pipeline.to_dict()} if pipeline is not None else {}),
            }
        )
        return 0
    if not args.stream:
        print(generation.text)
    if pipeline is not None:
        inspect_cmds.print_pipeline(pipeline)
    rate = len(generation.steps) / generation.seconds if generation.seconds else 0.0
    notice(
        f"[{len(generation.steps)} tokens, finish: {generation.finish_reason}, "
        f"logprob {generation.sequence_logprob:.2f}, perplexity {generation.perplexity:.2f}, "
        f"{rate:.1f} tokens/s]"
    )
    return 0


def _explain(engine: Any, prompt: str, generation: Any, decoding: Any, step: int) -> Any:
    """The processor pipeline at generated token ``step`` (0-based)."""
    from assistant.core.pipeline_explain import explain_step

    count = len(generation.steps)
    if not 0 <= step < count:
        raise UsageError(
            f"invalid --explain-step {step}: the generation has {count} tokens "
            f"(steps 0 … {max(count - 1, 0)})"
        )
    ids = [s.token_id for s in generation.steps]
    return explain_step(engine, prompt, ids, step, decoding, k=EXPLAIN_TOP)


def cmd_score(args: argparse.Namespace, settings: Settings) -> int:
    text = text_arg(args.text)
    models = args.models or []
    if len(models) > 1:
        return _compare(args, settings, text, models)
    if models:
        settings = settings.model_copy(update={"model": models[0]})
    engine = engine_for(settings, args)
    score = engine.score(text)
    if args.json:
        emit_json({**model_info(engine), "text": text, **score.to_dict()})
        return 0
    from rich.console import Console
    from rich.table import Table

    out = Table(title="per-token log-probabilities", title_justify="left")
    for column in ("#", "token", "prob", "logprob"):
        out.add_column(column, justify="left" if column == "token" else "right")
    for i, (tok, lp) in enumerate(zip(score.tokens, score.logprobs, strict=True), start=1):
        out.add_row(str(i), shown(tok), f"{math.exp(lp):.4f}", f"{lp:.3f}")
    console = Console(markup=False, highlight=False)
    console.print(out)
    console.print(
        f"tokens {len(score.logprobs)}  total logprob {score.total_logprob:.3f}  "
        f"perplexity {score.perplexity:.3f}  windows {score.windows}"
    )
    return 0


def _compare(args: argparse.Namespace, settings: Settings, text: str, names: list[str]) -> int:
    """Score ``text`` under each model in turn (one loaded at a time) and compare."""
    from assistant.core.score_compare import ScoredModel, compare_scores

    scored = []
    for name in names:
        engine = engine_for(settings.model_copy(update={"model": name}), args)
        loaded = engine.loaded
        scored.append(ScoredModel(name, loaded.source, engine.score(text), loaded.is_fallback))
        del engine, loaded
    comparison = compare_scores(scored, top=args.top)
    if args.json:
        emit_json({"text": text, **comparison.to_dict()})
        return 0
    inspect_cmds.print_comparison(comparison)
    return 0


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.core.models import BUNDLED_MODEL_DIR, PRESETS, cached_presets, resolve_model_name

    if args.download:  # the explicit yes: say what, how big and where, then a progress bar
        from assistant.cli.model_fetch import fetch_model

        folder = fetch_model(args.download)
        where = str(folder) if folder is not None else resolve_model_name(args.download)
        if args.json:
            emit_json({"downloaded": args.download, "source": where})
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


def _step(value: str) -> int:
    step = int(value)
    if step < 0:
        raise argparse.ArgumentTypeError("must be ≥ 0 (steps count from 0)")
    return step


def _count(value: str) -> int:
    count = int(value)
    if not 0 <= count <= 1000:
        raise argparse.ArgumentTypeError("must be between 0 and 1000")
    return count


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
    p.add_argument(
        "--explain-step",
        type=_step,
        metavar="N",
        help="also show the logits processors' pipeline at generated token N (0-based)",
    )
    add_decoding_flags(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser(
        "score",
        parents=[common],
        help="per-token log-probabilities and perplexity; --model twice or more compares models",
    )
    p.add_argument("text", help="text to score ('-' reads stdin)")
    # Its own --model, repeatable (the CLI's global --model is single and skipped here).
    p.add_argument(
        "--model",
        dest="models",
        action="append",
        metavar="MODEL",
        help="HF id, preset name or local directory; repeat to compare models on TEXT",
    )
    p.add_argument(
        "--top", type=_count, default=5, help="disagreements to mark when comparing (default 5)"
    )
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("models", help="presets, what is cached locally, the bundled fallback")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument(
        "--download", metavar="NAME", help="fetch a model into the HF cache (needs network)"
    )
    p.set_defaults(func=cmd_models)

    inspect_cmds.register(sub)
