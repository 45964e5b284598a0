"""The cost plan of a profile (``harness plan``): how many stages of each type its whole grid
has, the device-hours its training stages take under the profile's ``cost`` assumptions, and
the disk its checkpoints use. Computed from the parameters alone (what `dvc status` says is
done does not matter), so it can be read before anything is fetched."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

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
    measured: list[str] = field(default_factory=list)
    """Tasks whose hours come from a measured training rate (``measured`` of
    :func:`cost_plan`) instead of the profile's ``cost`` assumptions."""


def _run_hours(
    params: Params,
    tasks: list[str],
    train: TrainParams,
    key: str,
    measured: dict[str, float] | None = None,
    used: list[str] | None = None,
) -> float | None:
    """Device-hours of one training run over ``tasks`` (one task, or a setting's tasks) with
    ``train``'s epochs, batch size and length; None if a task's size is unknown. A task with a
    ``measured`` rate (real training tokens per second of a whole run, its fixed costs
    included) takes its tokens over that rate (and is appended to ``used``)."""
    cost = params.cost
    seconds = 0.0
    for task in tasks:
        examples = cost.train_examples.get(task)
        if examples is None:
            return None
        tokens = cost.tokens_per_example.get(task, cost.tokens_per_example.get(key))
        length = tokens if tokens is not None else float(train.max_length)
        rate = (measured or {}).get(task)
        if rate:
            seconds += examples * train.epochs * length / rate
            if used is not None:
                used.append(task)
            continue
        batches = math.ceil(examples / train.batch_size) * train.epochs
        step = max(cost.step_floor_s, train.batch_size * length / cost.tokens_per_second)
        seconds += batches * step
    return seconds / 3600


LONG_WINDOW = 256
"""Tasks trained at this ``max_length`` or longer (QA windows of 384) take the QA-shaped rate
of a benchmark, the others the sentence-pair one."""


def rates_from_benchmark(
    data: dict[str, Any], qa_tasks: Iterable[str], other_tasks: Iterable[str]
) -> dict[str, float]:
    """Training rates by task from ``benchmarks/bench_gpu.py --json``'s rows: QA tasks get the
    fastest QA-shaped configuration's real tokens/s, every other task the fastest XNLI-shaped
    one's (sentence-pair lengths; tagging and multiple choice are of that order). The rows of
    the reference settings (``*-xtreme*``) are left out."""
    best: dict[str, float] = {}
    for row in data.get("rows", []):
        name = str(row.get("name", ""))
        shape = "qa" if name.startswith("qa") else "xnli" if name.startswith("xnli") else None
        seconds = float(row.get("seconds") or 0)
        if shape is None or seconds <= 0 or "xtreme" in name:
            continue
        rate = float(row.get("real_tokens", 0)) / seconds
        best[shape] = max(best.get(shape, 0.0), rate)
    out = {task: best["qa"] for task in qa_tasks if "qa" in best}
    out.update({task: best["xnli"] for task in other_tasks if "xnli" in best})
    return out


def cost_plan(params: Params, measured: dict[str, float] | None = None) -> list[Row]:
    """One row per stage type of the profile's whole grid. ``measured``: real training tokens
    per second by task, measured on the device (``harness plan --measured``), used in place
    of the ``cost`` assumptions for those tasks."""
    grid = params.grid
    seeds = len(params.cell_seeds())
    ckpt = params.cost.checkpoint_gb
    rows = [Row("fetch", len(params.fetch.datasets)), Row("pretrain", 1, disk_gb=ckpt)]

    single = Row("intermediate", len(params.phase1), 0.0, ckpt * len(params.phase1))
    for task, train in params.phase1.items():
        hours = _run_hours(params, [task], train, task, measured, single.measured)
        if hours is None:
            single.missing.append(task)
        else:
            single.hours = (single.hours or 0.0) + hours
    multi = Row("multitask", len(params.multitask), 0.0, ckpt * len(params.multitask))
    for name, setting in params.multitask.items():
        hours = _run_hours(params, list(setting.tasks), setting, name, measured, multi.measured)
        if hours is None:
            multi.missing.append(name)
        else:
            multi.hours = (multi.hours or 0.0) + hours
    cells = len(grid.intermediate) * seeds
    target = Row("target", cells * len(grid.target), 0.0, ckpt * cells * len(grid.target))
    for task in grid.target:
        hours = _run_hours(
            params, [task], params.phase2_params(task), task, measured, target.measured
        )
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


def format_plan(params: Params, rows: list[Row], measured_from: str = "") -> str:
    """The plan as a table with its assumptions, for people; ``measured_from`` names the
    source of measured rates, when some were used."""
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
    used = sorted({t for r in rows for t in r.measured})
    if used:
        lines.append(
            f"  measured training rates ({measured_from or 'measured'}) for: {', '.join(used)}; "
            "the other tasks use the model below"
        )
    lines.append(
        f"  model: a training micro-batch of b examples of t tokens takes max({cost.step_floor_s:g}"
        f" s, b*t / {cost.tokens_per_second:,.0f} tokens/s); t = cost.tokens_per_example or the "
        "task's max_length (an upper bound). Evaluation, retrieval and difficulty passes are not "
        "estimated. Disk: one encoder per pretrain / phase-1 / phase-2 output at "
        f"{cost.checkpoint_gb:g} GB (phase-2 models are not pushed to the DVC cache)."
    )
    return "\n".join(lines)
