"""Training batch orders: complete, seeded, and (grouped) with less padding."""

from __future__ import annotations

import random

import pytest
import torch

from harness.data.batching import epoch_batches, padded_tokens


def _generator(seed: int) -> torch.Generator:
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


_RNG = random.Random(7)
LENGTHS = [_RNG.randint(5, 120) for _ in range(1000)]


@pytest.mark.parametrize("group_batches", [0, 1, 8, 50, 10_000])
def test_every_example_once_in_batches_of_the_size(group_batches: int) -> None:
    batches = epoch_batches(LENGTHS, 32, _generator(0), group_batches)
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(len(LENGTHS)))
    assert all(1 <= len(b) <= 32 for b in batches)
    assert sum(len(b) < 32 for b in batches) <= -(-len(LENGTHS) // (32 * max(group_batches, 1)))


def test_order_is_a_function_of_the_generator_state() -> None:
    first = epoch_batches(LENGTHS, 32, _generator(3), 8)
    assert first == epoch_batches(LENGTHS, 32, _generator(3), 8)
    assert first != epoch_batches(LENGTHS, 32, _generator(4), 8)
    generator = _generator(3)
    epoch1 = epoch_batches(LENGTHS, 32, generator, 8)
    epoch2 = epoch_batches(LENGTHS, 32, generator, 8)
    assert epoch1 == first and epoch2 != epoch1  # the generator advances from epoch to epoch


def test_ungrouped_is_the_plain_shuffled_order() -> None:
    expected = torch.randperm(len(LENGTHS), generator=_generator(5)).tolist()
    batches = epoch_batches(LENGTHS, 10, _generator(5))
    assert [i for b in batches for i in b] == expected


def test_grouping_pads_less_and_keeps_batches_homogeneous() -> None:
    plain = epoch_batches(LENGTHS, 32, _generator(1))
    grouped = epoch_batches(LENGTHS, 32, _generator(1), 50)
    real = sum(LENGTHS)
    assert padded_tokens(LENGTHS, grouped) < 0.8 * padded_tokens(LENGTHS, plain)
    assert padded_tokens(LENGTHS, grouped) >= real
    spread = [max(LENGTHS[i] for i in b) - min(LENGTHS[i] for i in b) for b in grouped]
    assert sorted(spread)[len(spread) // 2] <= 10
    # the grouped batch order is still shuffled, not sorted by length
    longest = [max(LENGTHS[i] for i in b) for b in grouped]
    assert longest != sorted(longest) and longest != sorted(longest, reverse=True)


def test_bad_batch_size() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        epoch_batches(LENGTHS, 0, _generator(0))
