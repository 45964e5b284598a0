"""Mixing the training examples of several tasks (multi-task intermediate training).

Task *i* with *n_i* examples gets ``round(N * p_i)`` slots of the ``N = sum(n_i)`` in an epoch,
with ``p_i`` proportional to ``n_i`` (``sampling: proportional``) or to ``n_i ** (1 /
temperature)`` (``sampling: temperature``); a task drawn more often than it has examples repeats
them (each pass a new permutation), one drawn less often uses a random subset. The mixture is
drawn once per run from the seeded generator.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

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
