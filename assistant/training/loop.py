"""The training loop shared by ``assistant train`` and ``assistant finetune``.

Plain torch: AdamW, linear warmup then linear decay, gradient clipping. Everything that
varies between runs is a function of (seed, step): the batch order, the dropout masks and
the random position offsets. So a run resumed from a checkpoint continues exactly like an
uninterrupted one, and the same seed gives the same losses.

Ctrl-C is taken at the next step boundary: the loop writes a checkpoint (atomically, so a
second Ctrl-C during the write leaves the previous one) and raises ``TrainingInterrupted``.
"""

from __future__ import annotations

import math
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import torch
import torch.nn.functional as F

from assistant.training.checkpoint import latest_checkpoint, load_optimizer, save_checkpoint
from assistant.training.data import IGNORE_INDEX, Block
from assistant.training.progress import TrainingProgress


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training; ``checkpoint`` is the newest usable checkpoint, if any."""

    def __init__(self, checkpoint: Path | None, step: int) -> None:
        super().__init__(f"interrupted at step {step}")
        self.checkpoint = checkpoint
        self.step = step


@dataclass(frozen=True)
class LoopConfig:
    steps: int
    batch_size: int = 8
    lr: float = 1e-3
    warmup_steps: int = -1  # -1: 5% of the steps, at most 200
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    seed: int = 0
    checkpoint_every: int = 200
    max_eval_blocks: int = 32
    # Shift the positions of running-text blocks by a random offset, so that a model trained
    # on short blocks still learns every position embedding up to its context length.
    position_offsets: bool = False
    # A curriculum: the first ``lead_steps`` steps draw only from the last ``lead_blocks``
    # blocks (synthetic copy blocks, so copying is learned before it is needed).
    lead_steps: int = 0
    lead_blocks: int = 0

    @property
    def warmup(self) -> int:
        return self.warmup_steps if self.warmup_steps >= 0 else min(200, self.steps // 20)


@dataclass
class LoopResult:
    steps: int
    start_step: int
    losses: list[float]  # mean training loss of every step of the whole run
    heldout_loss_before: float
    heldout_loss_after: float
    seconds: float
    tokens_seen: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def heldout_ppl_before(self) -> float:
        return math.exp(self.heldout_loss_before)

    @property
    def heldout_ppl_after(self) -> float:
        return math.exp(self.heldout_loss_after)


def lr_factor(step: int, config: LoopConfig) -> float:
    """Learning-rate multiplier for the update made at ``step`` (0-based)."""
    if config.warmup and step < config.warmup:
        return (step + 1) / config.warmup
    remaining = config.steps - config.warmup
    return max(0.0, (config.steps - step) / remaining) if remaining > 0 else 1.0


class BatchSchedule:
    """Which blocks make up the batch of each step: a fresh shuffle of all blocks per epoch
    (after ``lead_steps`` steps drawn at random from the last ``lead_blocks`` blocks)."""

    def __init__(
        self, n_blocks: int, batch_size: int, seed: int, lead_steps: int = 0, lead_blocks: int = 0
    ) -> None:
        self.n = n_blocks
        self.batch_size = batch_size
        self.seed = seed
        self.lead_steps = lead_steps if 0 < lead_blocks <= n_blocks else 0
        self.lead_blocks = lead_blocks
        self._orders: dict[int, list[int]] = {}

    def _order(self, epoch: int) -> list[int]:
        if epoch not in self._orders:
            order = list(range(self.n))
            random.Random(f"{self.seed}:{epoch}").shuffle(order)
            self._orders = {epoch: order}  # only the current epoch is ever needed again
        return self._orders[epoch]

    def indices(self, step: int) -> list[int]:
        if step < self.lead_steps:
            rng = random.Random(f"{self.seed}:lead:{step}")
            first_lead = self.n - self.lead_blocks
            return [first_lead + rng.randrange(self.lead_blocks) for _ in range(self.batch_size)]
        first = (step - self.lead_steps) * self.batch_size
        return [self._order(i // self.n)[i % self.n] for i in range(first, first + self.batch_size)]


def _tensors(
    blocks: Sequence[Block], offsets: Sequence[int] | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    ids = torch.tensor([b.input_ids for b in blocks], dtype=torch.long)
    labels = torch.tensor([b.labels for b in blocks], dtype=torch.long)
    rows = []
    for i, b in enumerate(blocks):
        if b.positions is not None:
            rows.append(b.positions)
        else:
            start = offsets[i] if offsets else 0
            rows.append(list(range(start, start + len(b.input_ids))))
    return ids, labels, torch.tensor(rows, dtype=torch.long)


def _token_losses(model: torch.nn.Module, blocks: Sequence[Block]) -> tuple[torch.Tensor, int]:
    """Summed next-token loss over the labelled positions, and how many there were."""
    ids, labels, positions = _tensors(blocks)
    logits = model(input_ids=ids, position_ids=positions, use_cache=False).logits
    targets = labels[:, 1:]
    loss = F.cross_entropy(
        logits[:, :-1].reshape(-1, logits.size(-1)).float(),
        targets.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="sum",
    )
    return loss, int((targets != IGNORE_INDEX).sum())


@torch.no_grad()
def heldout_loss(model: torch.nn.Module, blocks: Sequence[Block], batch_size: int = 8) -> float:
    """Mean next-token loss (nats) on held-out blocks; exp() of it is the perplexity."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(blocks), batch_size):
        loss, n = _token_losses(model, blocks[start : start + batch_size])
        total += float(loss)
        count += n
    model.train(was_training)
    return total / max(count, 1)


@contextmanager
def _deferred_interrupt() -> Iterator[threading.Event]:
    """First Ctrl-C sets the event (handled at a step boundary); a second one stops at once."""
    event = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield event
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if event.is_set():
            raise KeyboardInterrupt
        event.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield event
    finally:
        signal.signal(signal.SIGINT, previous)


def train_loop(
    model: torch.nn.Module,
    train_blocks: Sequence[Block],
    heldout_blocks: Sequence[Block],
    config: LoopConfig,
    out_dir: Path,
    write_model: Callable[[Path], None],
    run_info: dict[str, Any],
    resume: bool = False,
    progress: TrainingProgress | None = None,
) -> LoopResult:
    """Train ``model`` in place for ``config.steps`` steps; checkpoints go under ``out_dir``.

    ``write_model(folder)`` saves a loadable model + tokenizer; ``run_info`` (JSON) is stored
    in every checkpoint's training state so a resumed run can rebuild the same data.
    """
    if not train_blocks:
        raise ValueError("no training blocks")
    torch.manual_seed(config.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        params, lr=config.lr, weight_decay=config.weight_decay, betas=(0.9, 0.95)
    )
    start, losses, before, seconds_before, tokens_before = 0, [], math.nan, 0.0, 0
    checkpoint = latest_checkpoint(out_dir) if resume else None
    if checkpoint is not None:
        from assistant.training.checkpoint import read_state

        state = read_state(checkpoint)
        load_optimizer(optimizer, checkpoint)
        start, losses = int(state["step"]), list(state["losses"])
        before, seconds_before = float(state["heldout_loss_before"]), float(state["seconds"])
        tokens_before = int(state.get("tokens_seen", 0))
    if math.isnan(before):
        before = heldout_loss(model, heldout_blocks[: config.max_eval_blocks])

    schedule = BatchSchedule(
        len(train_blocks), config.batch_size, config.seed, config.lead_steps, config.lead_blocks
    )
    n_positions = int(getattr(getattr(model, "config", None), "n_positions", 0) or 0)
    started = time.monotonic()
    tokens = 0

    def state_at(step: int) -> dict[str, Any]:
        return {
            "step": step,
            "losses": losses,
            "heldout_loss_before": before,
            "seconds": seconds_before + time.monotonic() - started,
            "tokens_seen": tokens_before + tokens,
            "loop": asdict(config),
            "run": run_info,
        }

    def checkpoint_now(step: int) -> Path:
        return save_checkpoint(out_dir, step, write_model, optimizer, state_at(step))

    last_saved = checkpoint
    if progress is not None:
        progress.begin(start, config.steps)
    model.train()
    with _deferred_interrupt() as stop:
        step = start
        try:
            while step < config.steps:
                if stop.is_set():
                    last_saved = checkpoint_now(step)
                    raise TrainingInterrupted(last_saved, step)
                batch = [train_blocks[i] for i in schedule.indices(step)]
                step_rng = random.Random(f"{config.seed}:step:{step}")
                offsets = None
                if config.position_offsets and n_positions:
                    span = n_positions - len(batch[0].input_ids)
                    offsets = [step_rng.randint(0, max(span, 0)) for _ in batch]
                torch.manual_seed(config.seed * 1_000_003 + step)  # dropout masks
                for group in optimizer.param_groups:
                    group["lr"] = config.lr * lr_factor(step, config)
                ids, labels, positions = _tensors(batch, offsets)
                out = model(input_ids=ids, position_ids=positions, labels=labels, use_cache=False)
                optimizer.zero_grad(set_to_none=True)
                out.loss.backward()
                torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
                optimizer.step()
                step += 1
                losses.append(round(out.loss.item(), 6))
                tokens += int(ids.numel())
                if progress is not None:
                    progress.update(step, losses[-1])
                if (
                    config.checkpoint_every
                    and step % config.checkpoint_every == 0
                    and step < config.steps
                ):
                    last_saved = checkpoint_now(step)
        except TrainingInterrupted:
            raise
        except KeyboardInterrupt as exc:
            # A second Ctrl-C (or one outside the main thread) may land mid-update, so the
            # model in memory is not trusted: the last checkpoint on disk is the result.
            raise TrainingInterrupted(last_saved, step) from exc

    after = heldout_loss(model, heldout_blocks[: config.max_eval_blocks])
    return LoopResult(
        steps=config.steps,
        start_step=start,
        losses=losses,
        heldout_loss_before=before,
        heldout_loss_after=after,
        seconds=seconds_before + time.monotonic() - started,
        tokens_seen=tokens_before + tokens,
    )
