"""Stage ``analyze``: gains over the baseline with honest uncertainty, and their relation to
task difficulty (the statistics themselves are in :mod:`harness.results.stats`).

Inputs are files, so ``harness analyze`` is a DVC stage that reruns only when they change:

* the per-example files beside the result files (``results/cells/*.examples.jsonl``, written by
  the evaluate and retrieve stages): for every language, split and metric, each test example's
  *sufficient statistics* (:meth:`harness.kinds.base.TaskKind.example_stats`), so a metric can
  be recomputed on any resample of examples;
* the difficulty files (``results/difficulty/*.json``, :mod:`harness.stages.difficulty`).

Statistics (``B`` bootstrap replicates, fixed seed, percentile intervals):

* **gain** of intermediate task ``I`` on target ``T``, language ``l``: the mean over seeds of
  ``metric(I, seed) - metric(none, seed)`` on the same test examples. Its interval resamples
  the test examples (the same indices for ``I`` and the baseline: a paired bootstrap) and the
  seeds (paired: seed ``s`` of ``I`` with seed ``s`` of the baseline).
  The **paired-bootstrap test** of gain = 0 is two-sided: ``p = (1 + #{|g* - g| >= |g|}) /
  (B + 1)`` (the bootstrap distribution shifted to the null; Berg-Kirkpatrick et al. 2012).
* **correlation** between difficulty (a measure, higher = harder) and gain across intermediate
  tasks: Spearman's rho and Kendall's tau-b of the (difficulty, mean gain) pairs over the
  languages of a group (one language; a language group; all non-English languages) and every
  target task. Two intervals: over *examples and seeds* (the gains recomputed on each bootstrap
  replicate, the tasks fixed: how sure the ranking of the measured gains is) and over *tasks*
  (resampling the intermediate tasks: :func:`harness.results.stats.spearman_with_interval`;
  degenerate with only a few tasks).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.config import BASELINE, Params
from harness.errors import HarnessError
from harness.io import atomic_write_text
from harness.results.languages import profile_language_rows, resource_band
from harness.results.schema import examples_path, read_difficulty_file, read_result
from harness.results.stats import paired_bootstrap_gain, rank_correlation, tiers
from harness.tasks import Registry


def load_examples_file(path: Path) -> list[dict[str, Any]]:
    try:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    except (OSError, json.JSONDecodeError) as exc:
        raise HarnessError(
            f"Per-example file '{path}' is unreadable ({exc}); rerun its evaluate stage."
        ) from exc


# --------------------------------------------------------------------------------------------
# the analysis stage

GROUPINGS = ("genus", "script", "resource_band")
"""Language groups a correlation is computed for, besides each language and all of them."""


@dataclass(frozen=True)
class CellKey:
    model: str
    target: str
    language: str
    metric: str


def _load_cells(
    cells_dir: Path, split: str
) -> tuple[dict[CellKey, dict[str, dict[int, np.ndarray]]], dict[str, str]]:
    """Per (model, target, language, primary metric): intermediate -> seed -> statistics; and
    each target's training language."""
    cells: dict[CellKey, dict[str, dict[int, np.ndarray]]] = {}
    train_language: dict[str, str] = {}
    files = sorted(p for p in cells_dir.glob("*.json"))
    if not files:
        raise HarnessError(f"No result files in '{cells_dir}'; run the evaluate stages first.")
    for path in files:
        result = read_result(path)
        beside = examples_path(path)
        if not beside.is_file():
            raise HarnessError(
                f"'{beside}' (the per-example file of '{path}') is missing; rerun the evaluate "
                "stage that writes both (`dvc repro`)."
            )
        setting = result.intermediate_task or BASELINE
        for line in load_examples_file(beside):
            if line["split"] != split or line["metric"] != result.primary_metric:
                continue
            key = CellKey(result.model, result.target_task, line["language"], line["metric"])
            stats = np.asarray(line["stats"], dtype=np.float64)
            cells.setdefault(key, {}).setdefault(setting, {})[result.seed] = stats
        train_language.setdefault(result.target_task, "en")
    return cells, train_language


def load_difficulty_files(difficulty_dir: Path) -> pd.DataFrame:
    """Rows (task, measure, value, model, seed) of every difficulty file in the folder."""
    rows = [row for p in sorted(difficulty_dir.glob("*.json")) for row in read_difficulty_file(p)]
    return pd.DataFrame(rows, columns=["task", "measure", "value", "model", "seed"])


def _group_labels(language: dict[str, Any]) -> dict[str, str]:
    return {
        "genus": str(language.get("genus") or "unknown"),
        "script": str(language.get("script") or "unknown"),
        "resource_band": resource_band(language.get("resource_class")),
    }


def run_analysis(
    params: Params, registry: Registry, cells_dir: Path, difficulty_dir: Path, out_dir: Path
) -> dict[str, Any]:
    """The ``analyze`` stage with the profile's settings (``analysis``, ``difficulty.tiers``),
    languages and tasks' training languages."""
    a = params.analysis
    return analyze(
        cells_dir,
        difficulty_dir,
        profile_language_rows(params),
        out_dir,
        split=a.split,
        samples=a.bootstrap_samples,
        confidence=a.confidence,
        seed=a.bootstrap_seed,
        n_tiers=params.difficulty.tiers,
        train_languages={spec.name: spec.train_language for spec in registry.specs()},
    )


def analyze(
    cells_dir: Path,
    difficulty_dir: Path,
    languages: Sequence[dict[str, Any]],
    out_dir: Path,
    *,
    split: str = "test",
    samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 20260101,
    n_tiers: int = 3,
    train_languages: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Gains with intervals and tests, difficulty tiers and difficulty-gain correlations;
    writes ``gains.csv``, ``difficulty.csv``, ``correlations.csv``, ``difficulty_gain.csv``
    (the plot's points) and ``metrics.json`` (DVC metrics) into ``out_dir``."""
    cells, default_train = _load_cells(cells_dir, split)
    train_languages = {**default_train, **(train_languages or {})}
    meta = {lang["code"]: lang for lang in languages}
    gain_rows: list[dict[str, Any]] = []
    draws_by: dict[tuple[str, str, str], dict[str, np.ndarray]] = {}
    for key in sorted(cells, key=lambda k: (k.model, k.target, k.language)):
        settings = cells[key]
        base = settings.get(BASELINE)
        if base is None:
            continue
        for setting in sorted(s for s in settings if s != BASELINE):
            seeds = sorted(set(settings[setting]) & set(base))
            if not seeds:
                continue
            gain, draws = paired_bootstrap_gain(
                [settings[setting][s] for s in seeds],
                [base[s] for s in seeds],
                key.metric,
                samples,
                confidence,
                seed,  # the same seed for every setting: replicates are paired across tasks
            )
            gain_rows.append(
                {
                    "model": key.model,
                    "target": key.target,
                    "language": key.language,
                    "intermediate": setting,
                    "metric": key.metric,
                    "n_seeds": gain.n_seeds,
                    "n_examples": gain.n_examples,
                    "gain": gain.gain,
                    "low": gain.low,
                    "high": gain.high,
                    "p_value": gain.p_value,
                    "significant": gain.p_value < 1 - confidence,
                }
            )
            draws_by.setdefault((key.model, key.target, key.language), {})[setting] = draws
    gains = pd.DataFrame(
        gain_rows,
        columns=[
            "model",
            "target",
            "language",
            "intermediate",
            "metric",
            "n_seeds",
            "n_examples",
            "gain",
            "low",
            "high",
            "p_value",
            "significant",
        ],
    )

    difficulty = load_difficulty_files(difficulty_dir) if difficulty_dir.is_dir() else None
    diff_rows: list[dict[str, Any]] = []
    corr_rows: list[dict[str, Any]] = []
    point_rows: list[dict[str, Any]] = []
    if difficulty is not None and not difficulty.empty:
        mean = difficulty.groupby(["model", "measure", "task"])["value"].mean().reset_index()
        for (model, measure), part in mean.groupby(["model", "measure"]):
            values = dict(zip(part["task"], part["value"], strict=True))
            for task, tier in tiers(values, n_tiers).items():
                diff_rows.append(
                    {
                        "model": model,
                        "measure": measure,
                        "task": task,
                        "value": values[task],
                        "tier": tier,
                    }
                )
            corr_rows += _correlations(
                str(model),
                str(measure),
                values,
                draws_by,
                gains,
                meta,
                train_languages,
                confidence,
                point_rows,
            )
    difficulty_frame = pd.DataFrame(
        diff_rows, columns=["model", "measure", "task", "value", "tier"]
    )
    correlations = pd.DataFrame(
        corr_rows,
        columns=[
            "model",
            "measure",
            "grouping",
            "group",
            "n_tasks",
            "n_languages",
            "spearman",
            "spearman_low",
            "spearman_high",
            "kendall",
            "kendall_low",
            "kendall_high",
            "spearman_task_low",
            "spearman_task_high",
        ],
    )
    points = pd.DataFrame(point_rows, columns=["model", "measure", "task", "difficulty", "gain"])
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in (
        ("gains", gains),
        ("difficulty", difficulty_frame),
        ("correlations", correlations),
        ("difficulty_gain", points),
    ):
        atomic_write_text(out_dir / f"{name}.csv", frame.to_csv(index=False, float_format="%.6g"))
    metrics = _metrics(gains, correlations, difficulty_frame)
    atomic_write_text(
        out_dir / "metrics.json", json.dumps(metrics, indent=2, sort_keys=True) + "\n"
    )
    return {
        "gains": gains,
        "difficulty": difficulty_frame,
        "correlations": correlations,
        "metrics": metrics,
    }


def _correlations(
    model: str,
    measure: str,
    values: dict[str, float],
    draws_by: dict[tuple[str, str, str], dict[str, np.ndarray]],
    gains: pd.DataFrame,
    meta: dict[str, dict[str, Any]],
    train_languages: dict[str, str],
    confidence: float,
    point_rows: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Correlation of difficulty with the mean gain over each language group's cells (every
    target task, non-training languages)."""
    tasks = sorted(values)
    cells = [
        (target, language)
        for (m, target, language), by_task in draws_by.items()
        if m == model
        and language != train_languages.get(target, "en")
        and all(t in by_task for t in tasks)
    ]
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {("all", "non-English"): list(cells)}
    for target, language in cells:
        groups.setdefault(("language", language), []).append((target, language))
        for grouping, label in _group_labels(meta.get(language, {})).items():
            groups.setdefault((grouping, label), []).append((target, language))
    rows = []
    part = gains[gains["model"] == model]
    difficulty = [values[t] for t in tasks]
    for (grouping, label), members in sorted(groups.items()):
        draws = np.mean(
            [
                np.stack([draws_by[(model, tg, lang)][task] for task in tasks], axis=1)
                for tg, lang in members
            ],
            axis=0,
        )
        member_set = set(members)
        chosen = part[
            [pair in member_set for pair in zip(part["target"], part["language"], strict=True)]
        ]
        mean_gain = chosen.groupby("intermediate")["gain"].mean()
        point = [float(mean_gain.get(task, np.nan)) for task in tasks]
        if grouping == "all":
            point_rows += [
                {"model": model, "measure": measure, "task": task, "difficulty": d, "gain": g}
                for task, d, g in zip(tasks, difficulty, point, strict=True)
            ]
        result = rank_correlation(difficulty, point, draws, confidence)
        rows.append(
            {
                "model": model,
                "measure": measure,
                "grouping": grouping,
                "group": label,
                "n_tasks": result.n_tasks,
                "n_languages": len({lang for _, lang in members}),
                "spearman": result.spearman,
                "spearman_low": result.spearman_low,
                "spearman_high": result.spearman_high,
                "kendall": result.kendall,
                "kendall_low": result.kendall_low,
                "kendall_high": result.kendall_high,
                "spearman_task_low": result.spearman_task_low,
                "spearman_task_high": result.spearman_task_high,
            }
        )
    return rows


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _metrics(
    gains: pd.DataFrame, correlations: pd.DataFrame, difficulty: pd.DataFrame
) -> dict[str, Any]:
    """The DVC metrics: per measure, the all-languages correlations and the ranking of the
    tasks; the share of significant gains."""
    out: dict[str, Any] = {
        "gains": {
            "cells": len(gains),
            "significant": int(gains["significant"].sum()) if len(gains) else 0,
            "mean_gain": _clean(float(gains["gain"].mean())) if len(gains) else None,
        }
    }
    for row in correlations[correlations["grouping"] == "all"].itertuples():
        out.setdefault("correlation", {})[str(row.measure)] = {
            key: _clean(float(getattr(row, key)))
            for key in (
                "spearman",
                "spearman_low",
                "spearman_high",
                "kendall",
                "kendall_low",
                "kendall_high",
            )
        }
    for measure, part in difficulty.groupby("measure"):
        out.setdefault("difficulty_ranking", {})[str(measure)] = list(
            part.sort_values(["value", "task"])["task"]
        )
    return out
