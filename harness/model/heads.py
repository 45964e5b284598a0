"""Task heads on an encoder: a fresh, seeded head for one task (phase 1, phase 2), a trained
model loaded for evaluation, and a shared encoder with one head per task (multi-task phase 1).

Which head a task gets is its kind's choice (:meth:`harness.kinds.base.TaskKind.head_class`,
:meth:`~harness.kinds.base.TaskKind.shared_encoder_head`); this module builds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel

from harness import kinds
from harness.device import attention_implementation
from harness.errors import HarnessError
from harness.kinds.base import IGNORE_INDEX, Feature
from harness.tasks import TaskSpec


def head_class(spec: TaskSpec) -> Any:
    """The ``AutoModelFor...`` class of ``spec``'s kind."""
    return kinds.of(spec).head_class(spec)


def head_model(encoder_dir: Path, spec: TaskSpec, seed: int) -> PreTrainedModel:
    """The encoder in ``encoder_dir`` with a fresh, seeded head for ``spec``'s kind."""
    kind = kinds.of(spec)
    auto = kind.head_class(spec)
    # the head's outputs, set for every kind: an encoder saved after phase 1 carries the label
    # set of its intermediate task in its config (a 3-way NLI head would give a QA head 3
    # outputs); QA has two (span start, end), multiple choice scores each choice with one output
    labels = kind.head_labels(spec)
    config: dict[str, Any] = {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {label: i for i, label in enumerate(labels)},
    }
    torch.manual_seed(seed)
    try:
        model: PreTrainedModel = auto.from_pretrained(
            str(encoder_dir), attn_implementation=attention_implementation(), **config
        )
    except OSError as exc:
        raise HarnessError(
            f"No encoder checkpoint in '{encoder_dir}': {exc}. Run the stage that produces it "
            "first (`dvc repro` runs stages in order)."
        ) from exc
    return model


def load_trained(model_dir: Path, spec: TaskSpec) -> PreTrainedModel:
    """A phase-2 model (encoder and trained head) of ``spec``'s kind, for evaluation."""
    model: PreTrainedModel = head_class(spec).from_pretrained(str(model_dir))
    return model


@dataclass
class TaskFeature:
    task: int
    feature: Feature

    @property
    def input_ids(self) -> list[int]:
        return self.feature.input_ids


def collate_multitask(items: Sequence[TaskFeature], pad_id: int) -> dict[str, torch.Tensor]:
    """Dynamic padding for a batch mixing tasks. ``labels`` is always (batch, width): token
    labels for tagging rows, and the class at position 0 (the rest ignored) for sequence rows."""
    width = max(len(item.input_ids) for item in items)
    input_ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(items), width), dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE_INDEX, dtype=torch.long)
    tasks = torch.empty(len(items), dtype=torch.long)
    for row, item in enumerate(items):
        n = len(item.input_ids)
        input_ids[row, :n] = torch.tensor(item.input_ids, dtype=torch.long)
        attention[row, :n] = 1
        label = item.feature.label
        if isinstance(label, list):
            labels[row, :n] = torch.tensor(label, dtype=torch.long)
        else:
            labels[row, 0] = label
        tasks[row] = item.task
    return {"input_ids": input_ids, "attention_mask": attention, "labels": labels, "task": tasks}


class MultitaskModel(nn.Module):
    """A shared encoder and one head per task; rows are routed by their ``task`` index."""

    def __init__(
        self, encoder: nn.Module, specs: Sequence[TaskSpec], seed: int, shared_head: bool = False
    ) -> None:
        super().__init__()
        self.encoder = encoder
        config: Any = encoder.config
        hidden, dropout = int(config.hidden_size), float(config.hidden_dropout_prob)
        torch.manual_seed(seed)
        if shared_head:
            different = [
                s.name for s in specs if (s.kind, s.labels) != (specs[0].kind, specs[0].labels)
            ]
            if different:
                raise HarnessError(
                    f"shared_head needs tasks of one kind with one label set; {different} differ "
                    f"from {specs[0].name} ({specs[0].kind}, {specs[0].labels}). Set "
                    "shared_head: false or leave them out."
                )
        owners = specs[:1] if shared_head else specs
        self.head_of = [0] * len(specs) if shared_head else list(range(len(specs)))
        self.token_level = [kinds.of(spec).token_level for spec in specs]
        heads = []
        for spec in owners:
            head = kinds.of(spec).shared_encoder_head(hidden, len(spec.labels), dropout)
            if head is None:
                raise HarnessError(
                    f"Task '{spec.name}' ({spec.kind}) has no head for a shared encoder; it "
                    "cannot join a multi-task setting."
                )
            heads.append(head)
        self.heads = nn.ModuleList(heads)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        task: torch.Tensor,
        labels: torch.Tensor | None = None,
    ) -> SimpleNamespace:
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]
        loss_fn = nn.CrossEntropyLoss(ignore_index=IGNORE_INDEX, reduction="mean")
        total = states.new_zeros(())
        logits: list[torch.Tensor] = []
        for t in torch.unique(task).tolist():
            rows = task == t
            out = self.heads[self.head_of[t]](states[rows])
            logits.append(out)
            if labels is None:
                continue
            gold = labels[rows] if self.token_level[t] else labels[rows, 0]
            flat = out.reshape(-1, out.shape[-1]) if self.token_level[t] else out
            # each task's rows weigh by their share of the batch, so the loss is a mean per row
            total = total + loss_fn(flat.float(), gold.reshape(-1)) * rows.sum() / len(task)
        single = logits[0] if len(logits) == 1 else None
        return SimpleNamespace(loss=total if labels is not None else None, logits=single)


class TaskView(nn.Module):
    """One task's view of a :class:`MultitaskModel`, scored like a single-task model."""

    def __init__(self, model: MultitaskModel, index: int) -> None:
        super().__init__()
        self.model = model
        self.index = index

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        task = torch.full((input_ids.shape[0],), self.index, dtype=torch.long)
        return self.model(input_ids, attention_mask, task.to(input_ids.device))
