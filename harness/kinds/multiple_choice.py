"""Multiple choice: every choice is encoded as a pair (context and question, choice), as the
reference scripts do; the head scores each pair and a softmax over the choices picks one.

Segment 1 is the context and the question joined by a space (either may be empty); segment 2
is the choice. Only segment 1 is truncated to ``max_length`` (the choice is kept whole)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.kinds.base import Batch, Example, FeatureSettings, TaskKind

if TYPE_CHECKING:
    from torch import nn

    from harness.tasks.spec import TaskSpec


@dataclass
class ChoiceFeature:
    input_ids: list[list[int]]
    """One sequence per choice."""
    label: int
    """Index of the right choice."""


def _first_segment(example: Example) -> str:
    parts = [str(example.get("context") or "").strip(), str(example.get("question") or "").strip()]
    return " ".join(p for p in parts if p)


def featurize_choices(
    spec: TaskSpec, examples: Sequence[Example], tokenizer: Any, max_length: int
) -> list[ChoiceFeature]:
    label_ids = {label: i for i, label in enumerate(spec.labels)}
    features: list[ChoiceFeature] = []
    for number, ex in enumerate(examples):
        where = f"Task '{spec.name}' example {ex.get('id', number)!r}"
        choices = ex.get("choices")
        if not isinstance(choices, list) or not choices:
            raise HarnessError(
                f"{where} has no choices (got {choices!r}); map `columns.choices` in the task "
                "spec to a list column or to one column per choice."
            )
        if not all(isinstance(c, str) for c in choices):
            raise HarnessError(f"{where}: every choice must be a string, got {choices!r}.")
        label = ex.get("label")
        if label in label_ids:
            index = label_ids[label]
        elif isinstance(label, int) and not isinstance(label, bool):
            index = label
        else:
            raise HarnessError(
                f"{where} has label {label!r}, neither one of the spec's labels {spec.labels} nor "
                "a choice index."
            )
        if not 0 <= index < len(choices):
            raise HarnessError(
                f"{where} has label {label!r} (choice {index}) but only {len(choices)} choices; "
                "fix the labels or the choices columns in the task spec."
            )
        first = _first_segment(ex)
        try:
            encoded = tokenizer(
                [first] * len(choices),
                list(choices),
                truncation="only_first" if first else True,
                max_length=max_length,
            )
        except Exception as exc:  # the tokenizer refuses when a choice alone is too long
            raise HarnessError(
                f"{where}: a choice does not fit max_length {max_length} ({exc}); raise max_length."
            ) from exc
        features.append(ChoiceFeature(input_ids=list(encoded["input_ids"]), label=index))
    return features


def collate_choices(features: Sequence[ChoiceFeature], pad_id: int) -> Batch:
    """Pad to (batch, choices, width), width the longest choice sequence of the batch."""
    import torch

    n_choices = {len(f.input_ids) for f in features}
    if len(n_choices) != 1:
        raise HarnessError(
            f"A multiple-choice batch mixes examples with {sorted(n_choices)} choices; every "
            "example of a task needs the same number of choices."
        )
    choices = n_choices.pop()
    width = max(len(seq) for f in features for seq in f.input_ids)
    input_ids = torch.full((len(features), choices, width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(features), choices, width), dtype=torch.long)
    labels = torch.empty(len(features), dtype=torch.long)
    for row, feature in enumerate(features):
        for c, seq in enumerate(feature.input_ids):
            input_ids[row, c, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            attention[row, c, : len(seq)] = 1
        labels[row] = feature.label
    return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}


class MultipleChoice(TaskKind):
    name = "multiple_choice"
    # context and question may be empty strings; choices is a list of strings (one source
    # column holding a list, or a list of source columns, one per choice); label is the index
    # of the right choice or one of the spec's labels
    fields = ("context", "question", "choices", "label")
    field_types = MappingProxyType(
        {"context": "text", "question": "text", "choices": "strings", "label": "label"}
    )
    labelled = True
    primary_metrics = ("accuracy",)
    reported_metrics = frozenset({"accuracy"})
    multitask = True

    def check_example(self, spec: TaskSpec, example: Example, where: str) -> None:
        super().check_example(spec, example, where)
        choices = example["choices"]
        if not isinstance(choices, list) or len(choices) != len(spec.labels):
            raise HarnessError(
                f"{where}: choices must be a list of {len(spec.labels)} strings, one per label "
                f"{spec.labels}."
            )

    def head_class(self, spec: TaskSpec) -> Any:
        from transformers import AutoModelForMultipleChoice

        return AutoModelForMultipleChoice

    def featurize(
        self,
        spec: TaskSpec,
        examples: Sequence[Example],
        tokenizer: Any,
        max_length: int,
        settings: FeatureSettings,
    ) -> list[Any]:
        return list(featurize_choices(spec, examples, tokenizer, max_length))

    def collate(self, features: Sequence[Any], pad_id: int) -> Batch:
        return collate_choices(features, pad_id)

    def shared_encoder_head(self, hidden: int, labels: int, dropout: float) -> nn.Module:
        """One score per (context, choice) sequence, from its ``<s>`` state (the choices are
        the outputs, so the label set does not size the head)."""
        from harness.kinds.heads import SequenceHead

        return SequenceHead(hidden, 1, dropout)

    def shared_forward(self, encoder: nn.Module, head: nn.Module, batch: Batch) -> Any:
        """As ``AutoModelForMultipleChoice``: the (rows, choices, width) sequences encoded as
        rows x choices sequences, each scored by the head; the loss is the cross-entropy of the
        softmax over each row's choices."""
        from types import SimpleNamespace

        from torch import nn

        ids = batch["input_ids"]
        rows, choices, width = ids.shape
        states = encoder(
            input_ids=ids.reshape(-1, width),
            attention_mask=batch["attention_mask"].reshape(-1, width),
        )[0]
        logits = head(states).reshape(rows, choices)
        labels = batch.get("labels")
        loss = None if labels is None else nn.functional.cross_entropy(logits.float(), labels)
        return SimpleNamespace(loss=loss, logits=logits)


MULTIPLE_CHOICE = MultipleChoice()
