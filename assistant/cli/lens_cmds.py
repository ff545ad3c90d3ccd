"""Looking inside the model: lens (the logit lens) and attention (one token's weights)."""

from __future__ import annotations

import argparse
from typing import Any

from assistant.cli.common import emit_json, notice
from assistant.cli.engine_loading import engine_for, model_info, shown, text_arg
from assistant.errors import UsageError
from assistant.settings import Settings

STRIP_TOP = 8  # the attention view also lists this many of the strongest links


def _text_ids(engine: Any, text: str) -> list[int]:
    ids = engine.encode(text) if text.strip() else []
    if not ids:
        raise UsageError("empty text: give some text")
    return list(ids)


def _note_truncation(engine: Any, start: int, position: int) -> None:
    if start:
        notice(
            f"note: the model reads at most {engine.context_length} tokens: the first {start} "
            f"tokens of the text are left out at position {position}"
        )


def cmd_lens(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.core.lens import logit_lens

    text = text_arg(args.text)
    engine = engine_for(settings, args)
    lens = logit_lens(engine, _text_ids(engine, text), position=args.position, k=args.k)
    _note_truncation(engine, lens.start, lens.position)
    if args.json:
        emit_json({**model_info(engine), "text": text, "k": args.k, **lens.to_dict()})
        return 0
    from rich.console import Console
    from rich.table import Table

    where = "the text's next token" if lens.chosen_source == "text" else "the model's top-1"
    out = Table(
        title=f"logit lens at token {lens.position} {shown(lens.context_token)!r}: "
        f"chosen {shown(lens.chosen_text)!r} ({where})",
        title_justify="left",
    )
    for column in ("layer", "rank", "p chosen", f"top {args.k}"):
        out.add_column(column, justify="left" if column in {"layer", f"top {args.k}"} else "right")
    for layer in lens.layers:
        top = "  ".join(f"{shown(p.text)!r} {p.prob:.1%}" for p in layer.top)
        out.add_row(layer.name, str(layer.chosen_rank), f"{layer.chosen_prob:.2%}", top)
    console = Console(markup=False, highlight=False)
    console.print(out)
    console.print(f"{len(lens.token_ids)} tokens read, {lens.seconds * 1000:.0f} ms")
    return 0


def cmd_attention(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.core.attention import attention_at, model_shape

    text = text_arg(args.text)
    engine = engine_for(settings, args)
    layers, heads = model_shape(engine)
    if not 1 <= args.layer <= layers:
        raise UsageError(
            f"invalid --layer: the model has {layers} layers, give 1..{layers} (got {args.layer})"
        )
    if args.head is not None and not 1 <= args.head <= heads:
        raise UsageError(
            f"invalid --head: each layer has {heads} heads, give 1..{heads} (got {args.head})"
        )
    attention = attention_at(engine, _text_ids(engine, text), position=args.position)
    _note_truncation(engine, attention.start, attention.position)
    if args.json:
        emit_json({**model_info(engine), "text": text, **attention.to_dict(args.layer, args.head)})
        return 0
    _print_strip(attention, args.layer, args.head)
    return 0


def _print_strip(attention: Any, layer: int, head: int | None) -> None:
    from rich.color import Color
    from rich.console import Console
    from rich.style import Style
    from rich.text import Text

    from assistant.core.heat import heat, heat_rgb

    row = attention.row(layer, head)
    which = f"head {head}" if head is not None else f"mean of {attention.heads} heads"
    console = Console(markup=False, highlight=False)
    console.print(
        f"attention of token {attention.position} {shown(attention.tokens[-1])!r}, "
        f"layer {layer}/{attention.layers}, {which} (brighter = more weight)",
        style="bold",
    )
    strip = Text()
    for j, (token, shade) in enumerate(zip(attention.tokens, heat(row), strict=True)):
        red, green, blue = heat_rgb(shade)
        ink = "black" if shade > 0.55 else "white"
        is_query = j == len(attention.tokens) - 1
        style = Style(color=ink, bgcolor=Color.from_rgb(red, green, blue), underline=is_query)
        strip.append(shown(token), style=style)
    console.print(strip)
    strongest = sorted(range(len(row)), key=lambda j: row[j], reverse=True)[:STRIP_TOP]
    listed = "  ".join(
        f"{attention.start + j}:{shown(attention.tokens[j])!r} {row[j]:.1%}" for j in strongest
    )
    console.print(f"strongest: {listed}")
    console.print(f"{len(row)} tokens read, {attention.seconds * 1000:.0f} ms")


def _k(value: str) -> int:
    k = int(value)
    if not 1 <= k <= 1000:
        raise argparse.ArgumentTypeError("must be between 1 and 1000")
    return k


def _layer_number(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("counts from 1")
    return number


def register(sub: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document")
    common.add_argument(
        "--quantize", choices=["none", "int8"], help="dynamic int8 weights (faster)"
    )
    common.add_argument(
        "--position",
        type=int,
        default=None,
        help="token position whose next token is predicted (0-based; default: the last; "
        "negative counts from the end)",
    )

    p = sub.add_parser(
        "lens",
        parents=[common],
        help="logit lens: each layer's top next tokens and the chosen token's rank",
    )
    p.add_argument("text", help="text ('-' reads stdin)")
    p.add_argument("--k", type=_k, default=5, help="top tokens per layer (default 5)")
    p.set_defaults(func=cmd_lens)

    p = sub.add_parser(
        "attention",
        parents=[common],
        help="one token's attention over the text for a layer and head, as a heat strip",
    )
    p.add_argument("text", help="text ('-' reads stdin)")
    p.add_argument("--layer", type=_layer_number, required=True, help="layer, from 1")
    p.add_argument(
        "--head", type=_layer_number, default=None, help="head, from 1 (default: mean of heads)"
    )
    p.set_defaults(func=cmd_attention)
