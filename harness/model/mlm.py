"""Masked-language-model pretraining pieces: packing sentences into blocks, the MLM loss on
masked positions only, and the seeded masking collator."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

import torch
from torch import nn
from transformers import XLMRobertaForMaskedLM


def pack(token_lists: Sequence[list[int]], block: int) -> list[list[int]]:
    """Concatenate consecutive sentences into blocks of at most ``block`` tokens."""
    blocks: list[list[int]] = []
    current: list[int] = []
    for ids in token_lists:
        ids = ids[:block]
        if len(current) + len(ids) > block:
            blocks.append(current)
            current = []
        current = current + ids
    if current:
        blocks.append(current)
    return blocks


class MaskedOnlyMlm(nn.Module):
    """MLM loss computed on the masked positions only.

    Same loss as ``XLMRobertaForMaskedLM`` (cross-entropy over masked tokens), but the output
    projection onto the vocabulary runs on ~15% of the positions instead of all of them, which
    is most of the cost of a small model's training step.
    """

    def __init__(self, model: XLMRobertaForMaskedLM) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor
    ) -> SimpleNamespace:
        hidden = self.model.roberta(input_ids=input_ids, attention_mask=attention_mask)[0]
        chosen = labels != -100
        logits = self.model.lm_head(hidden[chosen])
        return SimpleNamespace(loss=nn.functional.cross_entropy(logits.float(), labels[chosen]))


class MlmCollator:
    """Pads a batch and masks 15% of its real tokens (80% <mask>, 10% random, 10% kept),
    drawing from its own seeded generator so masking is reproducible."""

    def __init__(
        self,
        pad_id: int,
        mask_id: int,
        special_ids: Sequence[int],
        vocab_size: int,
        probability: float,
        generator: torch.Generator,
    ) -> None:
        self.pad_id, self.mask_id, self.vocab_size = pad_id, mask_id, vocab_size
        self.special = torch.tensor(sorted(set(special_ids)))
        self.probability = probability
        self.generator = generator

    def __call__(self, features: Sequence[list[int]]) -> dict[str, torch.Tensor]:
        width = max(len(f) for f in features)
        ids = torch.full((len(features), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros_like(ids)
        for row, f in enumerate(features):
            ids[row, : len(f)] = torch.tensor(f)
            attention[row, : len(f)] = 1
        candidates = attention.bool() & ~torch.isin(ids, self.special)
        draw = torch.rand(ids.shape, generator=self.generator)
        chosen = candidates & (draw < self.probability)
        labels = torch.where(chosen, ids, torch.full_like(ids, -100))
        action = torch.rand(ids.shape, generator=self.generator)
        random_tokens = torch.randint(self.vocab_size, ids.shape, generator=self.generator)
        inputs = ids.clone()
        inputs[chosen & (action < 0.8)] = self.mask_id
        swap = chosen & (action >= 0.8) & (action < 0.9)
        inputs[swap] = random_tokens[swap]
        return {"input_ids": inputs, "attention_mask": attention, "labels": labels}
