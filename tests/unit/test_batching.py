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


def test_pad_to_multiple_widens_every_sequence_tensor_with_its_own_padding() -> None:

    from harness.kinds.base import IGNORE_INDEX
    from harness.model.train import pad_to_multiple

    tagging = {
        "input_ids": torch.tensor([[0, 7, 2], [0, 2, 1]]),
        "attention_mask": torch.tensor([[1, 1, 1], [1, 1, 0]]),
        "labels": torch.tensor([[-100, 3, -100], [-100, -100, -100]]),
    }
    wide = pad_to_multiple(tagging, 4, cap=128, pad_id=1)
    assert wide["input_ids"].tolist() == [[0, 7, 2, 1], [0, 2, 1, 1]]
    assert wide["attention_mask"].tolist() == [[1, 1, 1, 0], [1, 1, 0, 0]]
    assert wide["labels"][:, 3].tolist() == [IGNORE_INDEX, IGNORE_INDEX]
    # QA: answer positions have no sequence dimension and stay as they are
    qa = {
        "input_ids": torch.ones((2, 5), dtype=torch.long),
        "attention_mask": torch.ones((2, 5), dtype=torch.long),
        "start_positions": torch.tensor([1, 2]),
        "end_positions": torch.tensor([3, 4]),
    }
    wide = pad_to_multiple(qa, 8, cap=6, pad_id=1)  # capped at max_length
    assert wide["input_ids"].shape == (2, 6) and wide["attention_mask"][:, 5].tolist() == [0, 0]
    assert wide["start_positions"] is qa["start_positions"]
    # multiple choice: (batch, choices, width); the per-example label is untouched
    choices = {
        "input_ids": torch.ones((2, 4, 3), dtype=torch.long),
        "attention_mask": torch.ones((2, 4, 3), dtype=torch.long),
        "labels": torch.tensor([0, 3]),
    }
    wide = pad_to_multiple(choices, 16, cap=128, pad_id=1)
    assert wide["input_ids"].shape == (2, 4, 16) and wide["labels"].tolist() == [0, 3]
    assert int(wide["attention_mask"].sum()) == 2 * 4 * 3
    # already a multiple, or wider than the cap: the batch itself comes back
    assert pad_to_multiple(tagging, 3, cap=128, pad_id=1) is tagging
    assert pad_to_multiple(tagging, 4, cap=2, pad_id=1) is tagging
