"""Synthetic copy blocks: loss only where copying from earlier in the block predicts the token."""

from __future__ import annotations

from itertools import pairwise

from assistant.training.copy_blocks import MAX_RUN, MIN_RUN, copy_blocks
from assistant.training.data import IGNORE_INDEX


def test_copy_blocks_train_only_on_tokens_that_repeat_an_earlier_run() -> None:
    pool = list(range(100, 400))
    blocks = copy_blocks(6, 256, pool, seed=1)
    assert len(blocks) == 6
    assert blocks == copy_blocks(6, 256, pool, seed=1)
    assert blocks != copy_blocks(6, 256, pool, seed=2)
    trained = total = 0
    for block in blocks:
        ids, labels = block.input_ids, block.labels
        positions = block.positions
        assert positions is not None and len(ids) == len(labels) == len(positions) == 256
        assert positions[0] == 0 and positions.count(0) > 2  # one packed example per run
        assert set(ids) <= set(pool)
        assert all(label == IGNORE_INDEX for label in labels[: MIN_RUN + 1])
        for i, label in enumerate(labels):
            if label == IGNORE_INDEX:
                continue
            assert label == ids[i]
            # Induction: the previous token and this one appeared together one run earlier,
            # inside the same packed example.
            assert any(
                ids[i - n] == ids[i] and ids[i - n - 1] == ids[i - 1]
                for n in range(MIN_RUN, MAX_RUN + 1)
                if n + 1 <= positions[i]
            )
        trained += sum(label != IGNORE_INDEX for label in labels)
        total += len(labels)
    assert 0.35 < trained / total < 0.5


def test_copy_pairs_spread_over_the_context_and_stay_separate_examples() -> None:
    import torch
    from transformers.masking_utils import find_packed_sequence_indices

    pool = list(range(100, 400))
    starts: list[int] = []
    for block in copy_blocks(20, 256, pool, seed=3, context=1024):
        positions = block.positions
        assert positions is not None and max(positions) < 1024
        # A pair starts wherever the position does not continue: exactly where the run repeats
        # its own tokens from the start, so every pair is its own example for the attention mask.
        pair_starts = [
            i for i in range(len(positions)) if i == 0 or positions[i] != positions[i - 1] + 1
        ]
        starts += [positions[i] for i in pair_starts]
        sequences = find_packed_sequence_indices(torch.tensor([positions]))
        assert sequences is not None and int(sequences[0, -1]) == len(pair_starts) - 1
        for a, b in pairwise(pair_starts):  # not the last pair: the block may cut it
            length = (b - a) // 2
            assert block.input_ids[a : a + length] == block.input_ids[a + length : b]
    assert max(starts) > 512 and min(starts) < 100  # spread over the context, not all at 0


def test_no_copy_blocks_when_none_are_asked_for_or_the_pool_is_empty() -> None:
    assert copy_blocks(0, 256, [5, 6], seed=0) == []
    assert copy_blocks(3, 256, [], seed=0) == []


def test_copy_warmup_draws_only_copy_blocks_then_every_block_each_epoch() -> None:
    from assistant.training.loop import BatchSchedule

    schedule = BatchSchedule(n_blocks=20, batch_size=4, seed=0, lead_steps=3, lead_blocks=5)
    lead = [i for step in range(3) for i in schedule.indices(step)]
    assert all(15 <= i < 20 for i in lead)
    epoch = [i for step in range(3, 8) for i in schedule.indices(step)]
    assert sorted(epoch) == list(range(20))  # then the usual shuffled epochs over all blocks
    plain = BatchSchedule(n_blocks=20, batch_size=4, seed=0)
    assert [plain.indices(s) for s in range(5)] == [schedule.indices(s + 3) for s in range(5)]
