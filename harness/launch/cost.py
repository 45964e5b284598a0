"""The cost plan of a profile (``harness plan``): how many stages of each type its whole grid
has, the device-hours its training stages take under the profile's ``cost`` assumptions, and
the disk its checkpoints use. Computed from the parameters alone (what `dvc status` says is
done does not matter), so it can be read before anything is fetched."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from harness.config import Params, TrainParams


@dataclass
class Row:
    stage: str
    count: int
    hours: float | None = None
    """Device-hours of all stages of the type (None: not estimated)."""
    disk_gb: float = 0.0
    missing: list[str] = field(default_factory=list)
    """Tasks left out of the estimate (no ``cost.train_examples`` entry)."""


def _run_hours(params: Params, tasks: list[str], train: TrainParams, key: str) -> float | None:
    """Device-hours of one training run over ``tasks`` (one task, or a setting's tasks) with
    ``train``'s epochs, batch size and length; None if a task's size is unknown."""
    cost = params.cost
    seconds = 0.0
    for task in tasks:
        examples = cost.train_examples.get(task)
        if examples is None:
            return None
        tokens = cost.tokens_per_example.get(task, cost.tokens_per_example.get(key))
        length = tokens if tokens is not None else float(train.max_length)
        batches = math.ceil(examples / train.batch_size) * train.epochs
        step = max(cost.step_floor_s, train.batch_size * length / cost.tokens_per_second)
        seconds += batches * step
    return seconds / 3600


def cost_plan(params: Params) -> list[Row]:
    """One row per stage type of the profile's whole grid."""
    grid = params.grid
    seeds = len(params.cell_seeds())
    ckpt = params.cost.checkpoint_gb
    rows = [Row("fetch", len(params.fetch.datasets)), Row("pretrain", 1, disk_gb=ckpt)]

    single = Row("intermediate", len(params.phase1), 0.0, ckpt * len(params.phase1))
    for task, train in params.phase1.items():
        hours = _run_hours(params, [task], train, task)
        if hours is None:
            single.missing.append(task)
        else:
            single.hours = (single.hours or 0.0) + hours
    multi = Row("multitask", len(params.multitask), 0.0, ckpt * len(params.multitask))
    for name, setting in params.multitask.items():
        hours = _run_hours(params, list(setting.tasks), setting, name)
        if hours is None:
            multi.missing.append(name)
        else:
            multi.hours = (multi.hours or 0.0) + hours
    cells = len(grid.intermediate) * seeds
    target = Row("target", cells * len(grid.target), 0.0, ckpt * cells * len(grid.target))
    for task in grid.target:
        hours = _run_hours(params, [task], params.phase2_params(task), task)
        if hours is None:
            target.missing.append(task)
        else:
            target.hours = (target.hours or 0.0) + hours * cells
    rows += [single, multi, target]
    rows.append(Row("evaluate", cells * len(grid.target)))
    rows.append(Row("retrieve", len(grid.intermediate) * len(grid.retrieval)))
    rows.append(Row("difficulty", len(params.intermediate_inputs)))
    rows += [Row("ingest", 1), Row("analyze", 1)]
    return rows


def format_plan(params: Params, rows: list[Row]) -> str:
    """The plan as a table with its assumptions, for people."""
    cost = params.cost
    lines = [
        f"cost plan of profile '{params.profile}' (the whole grid, on {cost.device}):",
        f"  {'stage':13} {'stages':>7} {'device-hours':>13} {'disk GB':>9}",
    ]
    for row in rows:
        hours = "-" if row.hours is None else f"{row.hours:,.1f}"
        if row.missing:
            hours += " *"
        disk = f"{row.disk_gb:,.1f}" if row.disk_gb else "-"
        lines.append(f"  {row.stage:13} {row.count:>7} {hours:>13} {disk:>9}")
    total_hours = sum(r.hours or 0.0 for r in rows)
    total_disk = sum(r.disk_gb for r in rows)
    total_stages = sum(r.count for r in rows)
    lines.append(f"  {'total':13} {total_stages:>7} {total_hours:>13,.1f} {total_disk:>9,.1f}")
    missing = sorted({t for r in rows for t in r.missing})
    if missing:
        lines.append(f"  * left out (no cost.train_examples entry): {', '.join(missing)}")
    lines.append(
        f"  model: a training micro-batch of b examples of t tokens takes max({cost.step_floor_s:g}"
        f" s, b*t / {cost.tokens_per_second:,.0f} tokens/s); t = cost.tokens_per_example or the "
        "task's max_length (an upper bound). Evaluation, retrieval and difficulty passes are not "
        "estimated. Disk: one encoder per pretrain / phase-1 / phase-2 output at "
        f"{cost.checkpoint_gb:g} GB (phase-2 models are not pushed to the DVC cache)."
    )
    return "\n".join(lines)
