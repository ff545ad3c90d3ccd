"""Looking inside the model from the command line: ``tokenize``, and the human-readable
tables of ``generate --explain-step`` and ``score --model A --model B``."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any

from assistant.cli.common import emit_json
from assistant.cli.engine_loading import engine_for, model_info, shown, text_arg
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.core.pipeline_explain import PipelineExplanation
    from assistant.core.score_compare import ScoreComparison


def quoted(text: str) -> str:
    """A token in quotes, so its leading space shows."""
    return "'" + shown(text) + "'"


def _console() -> Any:
    from rich.console import Console

    return Console(markup=False, highlight=False)


def cmd_tokenize(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.core.tokenization import tokenize

    text = text_arg(args.text)
    engine = engine_for(settings, args)
    result = tokenize(engine.tokenizer, text, engine.context_length)
    if args.json:
        emit_json({**model_info(engine), **result.to_dict()})
        return 0
    from rich.table import Table

    out = Table(title="tokens", title_justify="left")
    for column in ("#", "id", "token", "piece", "bytes", "word"):
        out.add_column(column, justify="right" if column in ("#", "id") else "left")
    for p in result.pieces:
        if p.special:
            word = "special"
        elif p.inside_character:
            word = "↳ inside a character"
        else:
            word = "start" if p.starts_word else "↳ continues"
        token = quoted(p.text) if p.valid_utf8 else "(part of a character)"
        out.add_row(str(p.index), str(p.token_id), token, shown(p.piece), p.bytes_hex, word)
    console = _console()
    console.print(out)
    for split in result.splits:
        console.print(f"split: '{shown(split.word)}' → {len(split.tokens)} tokens")
    console.print(
        f"{result.count:,} tokens of {result.context_length:,} context"
        + ("" if result.round_trips else "  (decoding the ids does not give the text back)")
    )
    return 0


def print_pipeline(explanation: PipelineExplanation) -> None:
    """One compact table per stage: the top tokens, what is kept, the mass removed."""
    console = _console()
    console.print(f"pipeline at step {explanation.step}: token '{shown(explanation.token)}'")
    for number, stage in enumerate(explanation.stages):
        chosen = (
            f"chosen p={stage.chosen_prob:.4f} rank {stage.chosen_rank}"
            if stage.chosen_rank is not None
            else "chosen removed"
        )
        console.print(
            f"{number}. {stage.name}: kept {stage.kept:,}, removed mass "
            f"{stage.removed_mass:.4f}, {chosen}"
        )
        row = "   " + "  ".join(f"'{shown(t.text)}' {t.prob:.3f}" for t in stage.top)
        console.print(row)


def print_comparison(comparison: ScoreComparison) -> None:
    from rich.table import Table

    console = _console()
    models = comparison.models
    if comparison.same_tokens:
        first = models[0].score
        marked = comparison.marked
        out = Table(title="per-token log-probabilities", title_justify="left")
        out.add_column("#", justify="right")
        out.add_column("token")
        for m in models:
            out.add_column(m.name, justify="right")
        out.add_column("Δ", justify="right")
        for i, token in enumerate(first.tokens):
            cells = [f"{m.score.logprobs[i]:.3f}" for m in models]
            mark = " ◀" if i in marked else ""
            out.add_row(str(i + 1), quoted(token), *cells, f"{comparison.spread(i):.3f}{mark}")
        console.print(out)
        console.print("most disagreement (largest |Δ logprob|):")
        for d in comparison.disagreements:
            console.print(f"  #{d.index + 1} '{shown(d.token)}': Δ {d.spread:.3f}")
    else:
        from assistant.core.score_compare import token_mismatch_note

        console.print("note: " + token_mismatch_note(models))
    for m in models:
        loaded = f" (loaded {m.source})" if m.source != m.name else ""
        fallback = " [bundled fallback]" if m.fallback else ""
        console.print(
            f"{m.name}{loaded}{fallback}: {len(m.score.logprobs)} tokens, perplexity "
            f"{m.score.perplexity:.3f}, mean logprob {m.score.mean_logprob:.3f}"
        )
    if comparison.duplicate_note:
        console.print("note: " + comparison.duplicate_note)
    if not all(math.isfinite(m.score.perplexity) for m in models):
        console.print("note: a perplexity is not finite")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "tokenize", help="how the model's tokenizer cuts TEXT: ids, tokens, bytes, word splits"
    )
    p.add_argument("text", help="text to tokenize ('-' reads stdin)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_tokenize)
