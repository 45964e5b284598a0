"""Featurisation of canonical examples per task kind, and dynamic-padding batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from harness.data.sources import Example
from harness.errors import HarnessError
from harness.tasks import TaskSpec

IGNORE_INDEX = -100
TRAINABLE_KINDS = frozenset({"classification", "pair_classification", "tagging"})


@dataclass
class Feature:
    """One model input: token ids, and a label id (sequence tasks) or per-token label ids."""

    input_ids: list[int]
    label: int | list[int]
    word_ids: list[int | None] | None = None
    """For tagging: the word index of every token (None for special tokens)."""
    truncated_words: int = 0
    """For tagging: how many words were cut off by max_length (scored as unpredicted)."""


def featurize(
    spec: TaskSpec, examples: Sequence[Example], tokenizer: Any, max_length: int
) -> list[Feature]:
    if spec.kind not in TRAINABLE_KINDS:
        raise HarnessError(
            f"Task '{spec.name}' is of kind '{spec.kind}', which this version of the harness can "
            f"read and validate but not yet train or evaluate (trainable kinds: "
            f"{', '.join(sorted(TRAINABLE_KINDS))}). Leave it out of grid in params.yaml."
        )
    label_ids = {label: i for i, label in enumerate(spec.labels)}
    if spec.kind == "tagging":
        return _featurize_tagging(examples, tokenizer, max_length, label_ids)
    firsts = [ex["sentence1"] for ex in examples]
    seconds = [ex["sentence2"] for ex in examples] if spec.kind == "pair_classification" else None
    encoded = tokenizer(firsts, seconds, truncation=True, max_length=max_length)
    return [
        Feature(input_ids=ids, label=label_ids[ex["label"]])
        for ids, ex in zip(encoded["input_ids"], examples, strict=True)
    ]


def _featurize_tagging(
    examples: Sequence[Example], tokenizer: Any, max_length: int, label_ids: dict[str, int]
) -> list[Feature]:
    """Label the first sub-token of every word; other sub-tokens are ignored by the loss."""
    encoded = tokenizer(
        [ex["tokens"] for ex in examples],
        is_split_into_words=True,
        truncation=True,
        max_length=max_length,
    )
    features = []
    for i, ex in enumerate(examples):
        word_ids = encoded.word_ids(i)
        labels: list[int] = []
        previous = None
        for word in word_ids:
            if word is None or word == previous:
                labels.append(IGNORE_INDEX)
            else:
                labels.append(label_ids[ex["tags"][word]])
            previous = word
        seen = {w for w in word_ids if w is not None}
        features.append(
            Feature(
                input_ids=encoded["input_ids"][i],
                label=labels,
                word_ids=word_ids,
                truncated_words=len(ex["tokens"]) - len(seen),
            )
        )
    return features


def collate(features: Sequence[Feature], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad a batch to its own longest sequence (dynamic padding)."""
    width = max(len(f.input_ids) for f in features)
    input_ids = torch.full((len(features), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(features), width), dtype=torch.long)
    token_level = isinstance(features[0].label, list)
    if token_level:
        labels = torch.full((len(features), width), IGNORE_INDEX, dtype=torch.long)
    else:
        labels = torch.empty(len(features), dtype=torch.long)
    for row, feature in enumerate(features):
        n = len(feature.input_ids)
        input_ids[row, :n] = torch.tensor(feature.input_ids, dtype=torch.long)
        attention[row, :n] = 1
        if isinstance(feature.label, list):
            labels[row, :n] = torch.tensor(feature.label, dtype=torch.long)
        else:
            labels[row] = feature.label
    return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}
