"""Sequence classification of one sentence (``classification``) or a sentence pair
(``pair_classification``: MNLI, XNLI, PAWS-X, the toy intermediate tasks).

Featurisation: the tokenizer's single or pair encoding, truncated to ``max_length``; one feature
per example, labelled with the index of its label in the spec's label set. The head is the
encoder's sequence-classification head (``AutoModelForSequenceClassification``: dense + tanh
over the ``<s>`` state, then the output layer); predictions are the label of the highest
logit, scored by accuracy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from harness.kinds.base import Example, Feature, FeatureSettings, TaskKind, head_attribute

if TYPE_CHECKING:
    import torch
    from torch import nn

    from harness.tasks.spec import TaskSpec


class SequenceClassification(TaskKind):
    labelled = True
    primary_metrics = ("accuracy",)
    reported_metrics = frozenset({"accuracy"})
    fixed_label_set = True
    every_label_in_train = True
    supports_pvi = True
    multitask = True
    shares_batches = True
    packable = True

    def __init__(self, name: str, pair: bool) -> None:
        self.name = name
        self.pair = pair
        self.fields = ("sentence1", "sentence2", "label") if pair else ("sentence1", "label")
        self.field_types = {field: "text" for field in self.fields if field != "label"}
        self.field_types["label"] = "label"

    def head_class(self, spec: TaskSpec) -> Any:
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification

    def shared_encoder_head(self, hidden: int, labels: int, dropout: float) -> nn.Module:
        from harness.kinds.heads import SequenceHead

        return SequenceHead(hidden, labels, dropout)

    def packed_head(self, model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
        # XLM-R's classification head reads the first position of (sequences, 1, hidden)
        classifier: Any = head_attribute(model, "classifier")
        return lambda states: classifier(states)

    def featurize(
        self,
        spec: TaskSpec,
        examples: Sequence[Example],
        tokenizer: Any,
        max_length: int,
        settings: FeatureSettings,
    ) -> list[Any]:
        label_ids = {label: i for i, label in enumerate(spec.labels)}
        firsts = [ex["sentence1"] for ex in examples]
        seconds = [ex["sentence2"] for ex in examples] if self.pair else None
        encoded = tokenizer(firsts, seconds, truncation=True, max_length=max_length)
        return [
            Feature(input_ids=ids, label=label_ids[ex["label"]])
            for ids, ex in zip(encoded["input_ids"], examples, strict=True)
        ]

    def null_example(self, example: Example) -> Example:
        null = dict(example)
        for field in ("sentence1", "sentence2"):
            if field in null:
                null[field] = ""
        return null


CLASSIFICATION = SequenceClassification("classification", pair=False)
PAIR_CLASSIFICATION = SequenceClassification("pair_classification", pair=True)
