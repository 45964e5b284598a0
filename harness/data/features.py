"""Featurisation of canonical examples per task kind, and dynamic-padding batches.

One place chooses per kind: :func:`featurize` (examples -> features) and :func:`collate_for`
(features -> a padded batch). Features of every kind have ``input_ids``: a flat list of ids
(one sequence) or a list of lists (multiple choice: one sequence per choice).

* classification, pair classification: one :class:`Feature` per example.
* tagging: one :class:`Feature` per example when the sentence fits ``max_length`` (exactly the
  features of the single-window featuriser); a longer sentence becomes several overlapping
  windows (:func:`tagging_windows`), each a :class:`Feature` with ``example`` set to the
  sentence's index. Every window labels the first sub-token of each of its words.
* multiple choice: :class:`harness.kinds.multiple_choice.ChoiceFeature`, one per example.
* extractive QA: :class:`harness.kinds.qa.QAFeature`, one per context window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from harness.data.sources import Example
from harness.errors import HarnessError
from harness.tasks import TaskSpec

IGNORE_INDEX = -100
TRAINABLE_KINDS = frozenset(
    {"classification", "pair_classification", "tagging", "multiple_choice", "extractive_qa"}
)


@dataclass
class Feature:
    """One model input: token ids, and a label id (sequence tasks) or per-token label ids."""

    input_ids: list[int]
    label: int | list[int]
    word_ids: list[int | None] | None = None
    """For tagging: the word index of every token (None for special tokens)."""
    example: int = 0
    """For tagging: the index of the sentence this window belongs to (several windows of a long
    sentence share it)."""


@dataclass(frozen=True)
class FeatureSettings:
    """Featurisation settings beyond ``max_length`` (extractive QA only; they are part of the
    feature cache key)."""

    doc_stride: int = 128
    max_query_length: int = 64


def check_trainable(spec: TaskSpec) -> None:
    if spec.kind not in TRAINABLE_KINDS:
        raise HarnessError(
            f"Task '{spec.name}' is of kind '{spec.kind}', which cannot be trained or evaluated "
            f"with a task head (trainable kinds: {', '.join(sorted(TRAINABLE_KINDS))}); "
            "retrieval targets are evaluated from the encoder. Leave it out of the training grid "
            "in params.yaml."
        )


def featurize(
    spec: TaskSpec,
    examples: Sequence[Example],
    tokenizer: Any,
    max_length: int,
    settings: FeatureSettings | None = None,
) -> list[Any]:
    check_trainable(spec)
    settings = settings or FeatureSettings()
    if spec.kind == "extractive_qa":
        from harness.kinds.qa import featurize_qa

        return list(
            featurize_qa(
                examples, tokenizer, max_length, settings.doc_stride, settings.max_query_length
            )
        )
    if spec.kind == "multiple_choice":
        from harness.kinds.multiple_choice import featurize_choices

        return list(featurize_choices(spec, examples, tokenizer, max_length))
    label_ids = {label: i for i, label in enumerate(spec.labels)}
    if spec.kind == "tagging":
        return list(_featurize_tagging(examples, tokenizer, max_length, label_ids))
    firsts = [ex["sentence1"] for ex in examples]
    seconds = [ex["sentence2"] for ex in examples] if spec.kind == "pair_classification" else None
    encoded = tokenizer(firsts, seconds, truncation=True, max_length=max_length)
    return [
        Feature(input_ids=ids, label=label_ids[ex["label"]])
        for ids, ex in zip(encoded["input_ids"], examples, strict=True)
    ]


def tagging_windows(token_words: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Overlapping windows ``[start, end)`` over the content tokens of one sentence, where
    ``token_words[i]`` is the word of content token ``i`` (non-decreasing).

    Windows hold at most ``budget`` tokens and start at a word's first token, so a window cuts
    no word (except a single word longer than ``budget``, cut to ``budget`` tokens). Each next
    window starts at the first word beginning at least ``budget // 2`` tokens after the start of
    the previous one (the stride is half a window), and the last window reaches the end.
    """
    n = len(token_words)
    if n <= budget:
        return [(0, n)]
    word_starts = [i for i in range(n) if i == 0 or token_words[i] != token_words[i - 1]]
    windows: list[tuple[int, int]] = []
    start = 0
    while True:
        end = start + budget
        if end >= n:
            windows.append((start, n))
            return windows
        following = [s for s in word_starts if s > start]
        inside = [s for s in following if s <= end]
        if not inside:
            # one word longer than the budget: keep its first ``budget`` tokens only
            windows.append((start, end))
            if not following:
                return windows
            start = following[0]
            continue
        cut = inside[-1]  # the window ends before the last word it cannot hold entirely
        windows.append((start, cut))
        target = start + max(1, budget // 2)
        stride_start = next((s for s in following if s >= target), cut)
        start = min(stride_start, cut)  # never skip a word


def _featurize_tagging(
    examples: Sequence[Example], tokenizer: Any, max_length: int, label_ids: dict[str, int]
) -> list[Feature]:
    """Label the first sub-token of every word; other sub-tokens are ignored by the loss.

    A sentence that fits ``max_length`` gives one feature, exactly as a single truncating
    tokenizer call would; a longer one gives overlapping windows (:func:`tagging_windows`), so
    every word is in at least one window with its first sub-token.
    """
    encoded = tokenizer([ex["tokens"] for ex in examples], is_split_into_words=True)
    features = []
    for i, ex in enumerate(examples):
        ids = list(encoded["input_ids"][i])
        word_ids = encoded.word_ids(i)
        if len(ids) <= max_length:
            spans = [(ids, word_ids)]
        else:
            # the encoding is <s> content </s>: slice the content per window, as the words are
            # tokenised one by one (is_split_into_words), a window's slice is what tokenising
            # its words alone would give
            content = [k for k, w in enumerate(word_ids) if w is not None]
            first, last = content[0], content[-1] + 1
            specials = len(ids) - (last - first)
            budget = max_length - specials
            if budget < 1:
                raise HarnessError(
                    f"max_length {max_length} leaves no room for words; raise max_length."
                )
            head, tail = ids[:first], ids[last:]
            body_ids, body_words = ids[first:last], word_ids[first:last]
            spans = [
                (head + body_ids[a:b] + tail, [None] * first + body_words[a:b] + [None] * len(tail))
                for a, b in tagging_windows([int(w) for w in body_words if w is not None], budget)
            ]
        for window_ids, window_words in spans:
            labels: list[int] = []
            previous = None
            for word in window_words:
                if word is None or word == previous:
                    labels.append(IGNORE_INDEX)
                else:
                    labels.append(label_ids[ex["tags"][word]])
                previous = word
            features.append(
                Feature(input_ids=window_ids, label=labels, word_ids=window_words, example=i)
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


def pad_to_multiple(
    batch: dict[str, torch.Tensor], multiple: int, cap: int, pad_id: int
) -> dict[str, torch.Tensor]:
    """Widen a collated batch's sequence dimension (the last of ``input_ids``) to the next
    multiple of ``multiple``, at most ``cap`` (or the batch's own width if that is wider).

    Padding is what the collate functions pad with: ``input_ids`` with ``pad_id``, ``labels``
    with ``IGNORE_INDEX``, every other tensor of the same leading shape (attention mask) with
    0. Tensors without the sequence dimension (sequence labels, answer positions, task indices)
    are unchanged.
    """
    shape = batch["input_ids"].shape
    width = shape[-1]
    target = min(-(-width // multiple) * multiple, max(cap, width))
    if target == width:
        return batch
    widened = {}
    for key, tensor in batch.items():
        if tensor.dim() == len(shape) and tensor.shape == shape:
            fill = pad_id if key == "input_ids" else IGNORE_INDEX if key == "labels" else 0
            tensor = torch.nn.functional.pad(tensor, (0, target - width), value=fill)
        widened[key] = tensor
    return widened


def collate_for(kind: str, pad_id: int) -> Callable[[Sequence[Any]], dict[str, torch.Tensor]]:
    """The training collate function of a task kind (labels included)."""
    if kind == "multiple_choice":
        from harness.kinds.multiple_choice import collate_choices

        return lambda fs: collate_choices(fs, pad_id)
    if kind == "extractive_qa":
        from harness.kinds.qa import collate_qa

        return lambda fs: collate_qa(fs, pad_id)
    return lambda fs: collate(fs, pad_id)
