"""Batch orders for training: plain shuffled batches, or length-grouped ones.

Length grouping puts examples of similar length into the same batch, so that dynamic padding
pads little, while keeping the order random: the examples are shuffled, cut into groups of
``group_batches`` batches, each group is sorted by length and cut into batches, and the batches of
the whole epoch are shuffled again. Every random choice comes from the ``generator`` passed in, so
an epoch's order is a pure function of the generator's state (a resumed run replays it exactly).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def epoch_batches(
    lengths: Sequence[int],
    batch_size: int,
    generator: torch.Generator,
    group_batches: int = 0,
) -> list[list[int]]:
    """The batches (lists of example indices) of one epoch; every index appears exactly once.

    ``group_batches`` 0 (or 1) gives shuffled batches without grouping; ``k`` > 1 sorts by length
    inside groups of ``k`` consecutive batches of the shuffled order.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    n = len(lengths)
    order = torch.randperm(n, generator=generator).tolist()
    if group_batches <= 1:
        return [order[i : i + batch_size] for i in range(0, n, batch_size)]
    span = batch_size * group_batches
    batches: list[list[int]] = []
    for start in range(0, n, span):
        # longest first inside a group; ties keep the shuffled order (stable sort)
        group = sorted(order[start : start + span], key=lambda i: -lengths[i])
        batches += [group[i : i + batch_size] for i in range(0, len(group), batch_size)]
    shuffle = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffle]


def padded_tokens(lengths: Sequence[int], batches: Sequence[Sequence[int]]) -> int:
    """Tokens a dynamically padded batch order computes (batch size x its longest sequence)."""
    return sum(len(batch) * max(lengths[i] for i in batch) for batch in batches)
