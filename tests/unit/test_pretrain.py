"""Phase 0 pieces: sequence packing, MLM masking and the masked-positions-only loss."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from harness.config import ModelParams
from harness.model.encoders import new_mlm_model
from harness.model.mlm import MaskedOnlyMlm, MlmCollator, pack


def test_pack_keeps_order_and_respects_the_block() -> None:
    blocks = pack([[1, 2, 3], [4, 5], [6, 7, 8, 9], [10] * 12], block=5)
    assert blocks == [[1, 2, 3, 4, 5], [6, 7, 8, 9], [10] * 5]


def _collator(tokenizer: Any, seed: int) -> MlmCollator:
    generator = torch.Generator()
    generator.manual_seed(seed)
    return MlmCollator(
        pad_id=tokenizer.pad_token_id,
        mask_id=tokenizer.mask_token_id,
        special_ids=tokenizer.all_special_ids,
        vocab_size=len(tokenizer),
        probability=0.3,
        generator=generator,
    )


def _features(tokenizer: Any) -> list[list[int]]:
    lines = ["the big dog saw the small cat near the river .", "Anna Berg did not chase a dog ."]
    return [tokenizer(line)["input_ids"] for line in lines * 8]


def test_masking_is_seeded_and_never_touches_special_tokens(tokenizer: Any) -> None:
    features = _features(tokenizer)
    first = _collator(tokenizer, 3)(features)
    again = _collator(tokenizer, 3)(features)
    other = _collator(tokenizer, 4)(features)
    assert torch.equal(first["input_ids"], again["input_ids"])
    assert not torch.equal(first["labels"], other["labels"])
    chosen = first["labels"] != -100
    special = torch.isin(first["labels"], torch.tensor(tokenizer.all_special_ids))
    assert chosen.any() and not (chosen & special).any()
    assert not (chosen & (first["attention_mask"] == 0)).any()
    # about 30% of the real, non-special tokens are chosen
    share = chosen.sum().item() / (first["attention_mask"].sum().item() - 2 * len(features))
    assert 0.15 < share < 0.45
    # a chosen token's label is the original token
    padded = torch.full_like(first["labels"], tokenizer.pad_token_id)
    for row, f in enumerate(features):
        padded[row, : len(f)] = torch.tensor(f)
    assert torch.equal(first["labels"][chosen], padded[chosen])


def test_masked_only_loss_equals_the_full_mlm_loss(tokenizer: Any) -> None:
    torch.manual_seed(0)
    params = ModelParams(
        name="t", source="pretrain", vocab_size=len(tokenizer), hidden_size=32, num_layers=2,
        num_heads=2, intermediate_size=64, max_position=40,
    )  # fmt: skip
    model = new_mlm_model(params, tokenizer).eval()
    batch = _collator(tokenizer, 1)(_features(tokenizer))
    with torch.no_grad():
        full = model(**batch).loss
        ours = MaskedOnlyMlm(model)(**batch).loss
    assert ours.item() == pytest.approx(full.item(), rel=1e-5)
