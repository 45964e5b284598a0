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
from harness.kinds.base import IGNORE_INDEX
from harness.model.packing import collate_packed, packed_states
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
    """A training feature of task ``task`` of a multi-task setting (of its kind's feature
    type: :class:`~harness.kinds.base.Feature`, a multiple-choice or a QA feature)."""

    task: int
    feature: Any

    @property
    def input_ids(self) -> Any:
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
    """A shared encoder and one head per task (or one shared head); each task's rows are scored
    by its head with its kind's loss.

    The rows of tasks whose kinds share batches (:attr:`~harness.kinds.base.TaskKind.
    shares_batches`: classification, tagging) may come mixed in one batch
    (:func:`collate_multitask`: one encoder pass, rows routed by their ``task`` index); any
    other task's batches hold that task alone, collated and run by its kind
    (:meth:`~harness.kinds.base.TaskKind.collate`,
    :meth:`~harness.kinds.base.TaskKind.shared_forward`): multiple-choice rows are
    (choices, width), QA rows carry answer positions. :meth:`collate` builds either."""

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
        self.names = [spec.name for spec in specs]
        self.kinds = [kinds.of(spec) for spec in specs]
        self.shares_batches = [kind.shares_batches for kind in self.kinds]
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

    def collate(
        self, items: Sequence[TaskFeature], pad_id: int, packing: int = 0
    ) -> dict[str, torch.Tensor]:
        """A training batch of ``items``: rows of tasks that share batches mixed
        (:func:`collate_multitask`; with ``packing``, packed into rows of that width:
        :func:`~harness.model.packing.collate_packed`), or the rows of one other task by its
        kind's collate."""
        present = sorted({item.task for item in items})
        if all(self.shares_batches[t] for t in present):
            if packing:
                token_level = any(self.kinds[t].token_level for t in present)
                features = [item.feature for item in items]
                batch = collate_packed(features, packing, pad_id, token_level)
                batch["task"] = torch.tensor([item.task for item in items], dtype=torch.long)
                return batch
            return collate_multitask(items, pad_id)
        self._one_task(present)
        batch = self.kinds[present[0]].collate([item.feature for item in items], pad_id)
        batch["task"] = torch.full((len(items),), present[0], dtype=torch.long)
        return batch

    def _one_task(self, present: Sequence[int]) -> None:
        if len(present) > 1:
            raise HarnessError(
                f"A multi-task batch mixes the tasks {[self.names[t] for t in present]}; only "
                "classification and tagging rows share a batch, every other task's batches "
                "hold that task alone (harness.data.mixture.pooled_batches orders them)."
            )

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        task: torch.Tensor,
        labels: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        segments: torch.Tensor | None = None,
        gather: torch.Tensor | None = None,
        **targets: torch.Tensor,
    ) -> SimpleNamespace:
        present = torch.unique(task).tolist()
        if segments is not None and gather is not None:  # a packed batch (collate, packing)
            states = packed_states(self.encoder, input_ids, position_ids, segments, gather)
            return self._shared_heads(states, task, labels, present)
        if not all(self.shares_batches[t] for t in present):
            self._one_task(present)
            t = present[0]
            batch = {"input_ids": input_ids, "attention_mask": attention_mask, **targets}
            if labels is not None:
                batch["labels"] = labels
            output: SimpleNamespace = self.kinds[t].shared_forward(
                self.encoder, self.heads[self.head_of[t]], batch
            )
            return output
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]
        return self._shared_heads(states, task, labels, present)

    def _shared_heads(
        self,
        states: torch.Tensor,
        task: torch.Tensor,
        labels: torch.Tensor | None,
        present: Sequence[int],
    ) -> SimpleNamespace:
        """Each task's rows of ``states`` (rows, positions, hidden) through its head and loss."""
        total = states.new_zeros(())
        logits: list[torch.Tensor] = []
        for t in present:
            rows = task == t
            out = self.heads[self.head_of[t]](states[rows])
            logits.append(out)
            if labels is None:
                continue
            # each task's rows weigh by their share of the batch, so the loss is a mean per row
            loss = self.kinds[t].shared_loss(out, labels[rows])
            total = total + loss * rows.sum() / len(task)
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
