"""Mixing the training examples of several tasks (multi-task intermediate training).

Task *i* with *n_i* examples gets ``round(N * p_i)`` slots of the ``N = sum(n_i)`` in an epoch,
with ``p_i`` proportional to ``n_i`` (``sampling: proportional``) or to ``n_i ** (1 /
temperature)`` (``sampling: temperature``); a task drawn more often than it has examples repeats
them (each pass a new permutation), one drawn less often uses a random subset. The mixture is
drawn once per run from the seeded generator.

Batches: rows of tasks whose kinds share batches (classification, tagging) are mixed in one
batch, as the training loop batches any feature list. A task of another kind (multiple choice,
extractive QA: tensors of other shapes) gets batches of its own: :func:`pooled_batches` cuts
every *pool* (the tasks that share batches, and each other task alone) into batches and
shuffles all of them, each epoch anew from the data-order generator. Each task then has a
number of batches proportional to its slots, so the task of each step is drawn by the
mixture's weights (without replacement within an epoch: an epoch holds every slot once).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from harness.data.batching import epoch_batches
from harness.errors import HarnessError


def sampling_weights(sizes: Sequence[int], sampling: str, temperature: float) -> list[float]:
    """Probability of drawing each task: proportional to size, or to size**(1/temperature)."""
    if any(n <= 0 for n in sizes):
        raise HarnessError(f"Every task of a multi-task setting needs examples (sizes {sizes}).")
    exponent = 1.0 if sampling == "proportional" else 1.0 / temperature
    scaled = [float(n) ** exponent for n in sizes]
    total = sum(scaled)
    return [s / total for s in scaled]


def slot_counts(weights: Sequence[float], total: int) -> list[int]:
    """``total`` slots shared by ``weights`` (largest remainder, so they sum to ``total``)."""
    raw = [w * total for w in weights]
    counts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def mixture(
    sizes: Sequence[int], counts: Sequence[int], generator: torch.Generator
) -> list[tuple[int, int]]:
    """(task, example) pairs: ``counts[t]`` draws from task ``t``'s ``sizes[t]`` examples."""
    pairs: list[tuple[int, int]] = []
    for task, (n, count) in enumerate(zip(sizes, counts, strict=True)):
        drawn: list[int] = []
        while len(drawn) < count:
            drawn += torch.randperm(n, generator=generator).tolist()[: count - len(drawn)]
        pairs += [(task, i) for i in drawn]
    return pairs


@dataclass(frozen=True)
class PooledBatches:
    """The batch order of a multi-task epoch whose tasks do not all share batches: each pool's
    examples cut into batches (shuffled, or length-grouped as :func:`epoch_batches` does), then
    the batches of every pool shuffled together. Called by the training loop with its
    data-order generator once per epoch (so a resumed run replays it)."""

    pools: tuple[tuple[int, ...], ...]
    """The feature indices of each pool."""
    lengths: tuple[int, ...]
    """The length of every feature (for length grouping)."""
    batch_size: int
    group_batches: int = 0

    @property
    def batches_per_epoch(self) -> int:
        return sum(math.ceil(len(pool) / self.batch_size) for pool in self.pools)

    def __call__(self, generator: torch.Generator) -> list[list[int]]:
        batches: list[list[int]] = []
        for pool in self.pools:
            lengths = [self.lengths[i] for i in pool]
            for batch in epoch_batches(lengths, self.batch_size, generator, self.group_batches):
                batches.append([pool[i] for i in batch])
        order = torch.randperm(len(batches), generator=generator).tolist()
        return [batches[i] for i in order]


def pooled_batches(
    tasks: Sequence[int],
    shares_batches: Sequence[bool],
    lengths: Sequence[int],
    batch_size: int,
    group_batches: int = 0,
) -> PooledBatches | None:
    """The batch order of features of tasks ``tasks`` (one task index per feature), where
    ``shares_batches[t]`` says whether task ``t``'s rows may share a batch with those of the
    other such tasks; None when every feature is in one pool (the training loop's own batches,
    as for a single task)."""
    keys = [-1 if shares_batches[t] else t for t in tasks]
    order = sorted(set(keys))
    if len(order) <= 1:
        return None
    pools = tuple(tuple(i for i, k in enumerate(keys) if k == key) for key in order)
    return PooledBatches(pools, tuple(lengths), batch_size, group_batches)
