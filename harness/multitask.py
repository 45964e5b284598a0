"""Multi-task intermediate training: one head per task on a shared encoder.

A setting (``multitask.<name>`` in params.yaml) names single intermediate tasks. Their
training examples are mixed once per run, seeded: task *i* with *n_i* examples gets
``round(N * p_i)`` slots of the ``N = sum(n_i)`` in an epoch, with ``p_i`` proportional to
``n_i`` (``sampling: proportional``) or to ``n_i ** (1 / temperature)`` (``sampling:
temperature``); a task drawn more often than it has examples repeats them (each pass a new
permutation), one drawn less often uses a random subset. The existing training loop
(:func:`harness.train.train`) then shuffles and batches the mixture as for any task; a batch may
hold several tasks, and the model routes each row to its task's head.

The encoder is saved without heads, like a single-task phase-1 encoder, so phase 2 and the
retrieval evaluation read it the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

from harness.config import MultitaskParams, Params
from harness.data.features import IGNORE_INDEX, Feature
from harness.errors import HarnessError
from harness.tasks import Registry, TaskSpec

# the kinds a multi-task setting can train: a sequence head or a token head per task
MULTITASK_KINDS = frozenset({"classification", "pair_classification", "tagging"})


def sampling_weights(sizes: Sequence[int], sampling: str, temperature: float) -> list[float]:
    """Probability of drawing each task: proportional to size, or to size**(1/temperature)."""
    if any(n <= 0 for n in sizes):
        raise HarnessError(f"Every task of a multi-task setting needs examples (sizes {sizes}).")
    exponent = 1.0 if sampling == "proportional" else 1.0 / temperature
    scaled = [float(n) ** exponent for n in sizes]
    total = sum(scaled)
    return [s / total for s in scaled]


def slot_counts(weights: Sequence[float], total: int) -> list[int]:
    """``total`` slots shared by ``weights`` (largest remainder, so they sum to ``total``)."""
    raw = [w * total for w in weights]
    counts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def mixture(
    sizes: Sequence[int], counts: Sequence[int], generator: torch.Generator
) -> list[tuple[int, int]]:
    """(task, example) pairs: ``counts[t]`` draws from task ``t``'s ``sizes[t]`` examples."""
    pairs: list[tuple[int, int]] = []
    for task, (n, count) in enumerate(zip(sizes, counts, strict=True)):
        drawn: list[int] = []
        while len(drawn) < count:
            drawn += torch.randperm(n, generator=generator).tolist()[: count - len(drawn)]
        pairs += [(task, i) for i in drawn]
    return pairs


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


class _SequenceHead(nn.Module):
    """As XLM-R's classification head: dense + tanh over the <s> state, then the output layer."""

    def __init__(self, hidden: int, labels: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden, hidden)
        self.out_proj = nn.Linear(hidden, labels)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        x = self.dropout(states[:, 0])
        x = torch.tanh(self.dense(x))
        return torch.as_tensor(self.out_proj(self.dropout(x)))


class _TokenHead(nn.Module):
    def __init__(self, hidden: int, labels: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden, labels)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.classifier(self.dropout(states)))


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
        self.token_level = [spec.kind == "tagging" for spec in specs]
        self.heads = nn.ModuleList(
            (_TokenHead if spec.kind == "tagging" else _SequenceHead)(
                hidden, len(spec.labels), dropout
            )
            for spec in owners
        )

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


def setting_spec(name: str, setting: MultitaskParams, registry: Registry) -> TaskSpec:
    """A registry entry for a multi-task setting, so that it is listed, validated and stored
    like an intermediate task. Its kind, source and labels are those of its first task; the
    description names every task and the sampling."""
    specs = [registry.get(t, role="intermediate") for t in setting.tasks]
    unsupported = [f"{s.name} ({s.kind})" for s in specs if s.kind not in MULTITASK_KINDS]
    if unsupported:
        raise HarnessError(
            f"multitask.{name} trains one classification or tagging head per task on a shared "
            f"encoder; {', '.join(unsupported)} cannot join it. Train such a task as its own "
            f"intermediate task (grid.intermediate), or remove it from multitask.{name}.tasks "
            "in params.yaml."
        )
    first = specs[0]
    sampling = (
        "proportional sampling"
        if setting.sampling == "proportional"
        else f"temperature-scaled sampling (T={setting.temperature:g})"
    )
    return first.model_copy(
        update={
            "name": name,
            "description": (
                f"Multi-task intermediate setting over {', '.join(setting.tasks)} with "
                f"{sampling}: one head per task on a shared encoder. Kind, source and labels "
                f"shown are those of its first task, {first.name}."
            ),
            "difficulty": None,
        }
    )


def with_settings(registry: Registry, params: Params) -> Registry:
    """``registry`` plus an entry for every multi-task setting in ``params``."""
    if not params.multitask:
        return registry
    specs = {n: registry.get(n) for n in registry.names()}
    origins = dict(registry.origins)
    for name, setting in params.multitask.items():
        if name in specs:
            raise HarnessError(
                f"multitask.{name} has the name of the task defined in '{origins[name]}'; "
                "rename the setting in params.yaml."
            )
        specs[name] = setting_spec(name, setting, registry)
        origins[name] = Path(f"params.yaml#multitask.{name}")
    return Registry(specs, origins)


def run_multitask(
    params: Params, registry: Registry, name: str, pretrained: Path, out_dir: Path
) -> dict[str, Any]:
    """Train the pretrained encoder on every task of setting ``name`` at once; save the encoder
    and each task's English dev score."""
    from transformers import AutoModel

    from harness.data.cache import cached_featurize
    from harness.data.sources import load_examples
    from harness.evaluate import predict_and_score
    from harness.io import publish_dir, staging_dir
    from harness.modeling import attention_implementation, load_tokenizer, read_phase, write_phase
    from harness.provenance import now
    from harness.seeding import seed_everything
    from harness.train import train

    setting = params.multitask[name]
    read_phase(pretrained)
    specs = [registry.get(t, role="intermediate") for t in setting.tasks]
    started = now()
    generator = seed_everything(params.seed)
    tokenizer = load_tokenizer(pretrained)
    per_task = []
    for spec in specs:
        examples = load_examples(spec, "train", spec.train_language)
        per_task.append(
            cached_featurize(spec, examples, tokenizer, setting.max_length, params.paths.cache)
        )
    sizes = [len(f) for f in per_task]
    weights = sampling_weights(sizes, setting.sampling, setting.temperature)
    counts = slot_counts(weights, sum(sizes))
    mixed = [TaskFeature(t, per_task[t][i]) for t, i in mixture(sizes, counts, generator)]
    try:
        encoder = AutoModel.from_pretrained(
            str(pretrained), add_pooling_layer=False, attn_implementation=attention_implementation()
        )
    except OSError as exc:
        raise HarnessError(f"No encoder checkpoint in '{pretrained}': {exc}.") from exc
    model = MultitaskModel(encoder, specs, params.seed, setting.shared_head)
    pad = tokenizer.pad_token_id
    summary = train(
        model,
        mixed,
        lambda items: collate_multitask(items, pad),
        setting,
        generator,
        f"phase 1: {name}",
    )
    dev = {
        spec.name: predict_and_score(
            TaskView(model, index),
            tokenizer,
            spec,
            load_examples(spec, "dev", spec.train_language),
            params.evaluation.batch_size,
            setting.max_length,
            f"dev {spec.name}",
            params.paths.cache,
        )
        for index, spec in enumerate(specs)
    }
    staging = staging_dir(out_dir)
    encoder.save_pretrained(str(staging))
    tokenizer.save_pretrained(str(staging))
    info = {
        "phase": 1,
        "task": name,
        "multitask": {
            "tasks": list(setting.tasks),
            "sampling": setting.sampling,
            "temperature": setting.temperature,
            "shared_head": setting.shared_head,
            "train_sizes": dict(zip(setting.tasks, sizes, strict=True)),
            "weights": dict(zip(setting.tasks, weights, strict=True)),
            "examples_per_epoch": dict(zip(setting.tasks, counts, strict=True)),
        },
        "from": str(pretrained),
        "dev": dev,
        "train": summary.as_dict(),
        "started_at": started,
        "finished_at": now(),
    }
    write_phase(staging, info)
    publish_dir(staging, out_dir)
    return info
