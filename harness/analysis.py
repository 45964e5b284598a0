"""Gains over the baseline with honest uncertainty, and their relation to task difficulty.

Inputs are files, so ``harness analyze`` is a DVC stage that reruns only when they change:

* the per-example files beside the result files (``results/cells/*.examples.jsonl``, written by
  :func:`harness.evaluate.evaluate_cell`): for every language, split and metric, each test
  example's *sufficient statistics* (see :func:`example_stats`), so a metric can be recomputed
  on any resample of examples;
* the difficulty files (``results/difficulty/*.json``, :mod:`harness.difficulty`).

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
  (resampling the intermediate tasks: :func:`harness.results.views.spearman_with_interval`;
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

from harness.errors import HarnessError

BASELINE = "none"


# --------------------------------------------------------------------------------------------
# per-example sufficient statistics


def _entities(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    from seqeval.metrics.sequence_labeling import get_entities

    return set(get_entities(list(tags)))


def example_stats(
    kind: str,
    predictions: Sequence[Any],
    golds: Sequence[Any],
    normalisation: str = "squad",
    language: str | None = None,
) -> dict[str, list[list[float]]]:
    """Per metric, one row of sufficient statistics per example; the corpus-level metric is a
    function of their column sums (:func:`metric_from_sums`):

    * ``accuracy``: ``[correct]`` (mean);
    * ``token_accuracy``: ``[correct tokens, tokens]``;
    * ``f1`` (seqeval span F1, tagging): ``[true-positive spans, predicted spans, gold spans]``;
    * extractive QA (answer texts against each question's gold texts, ``normalisation`` and
      ``language`` as :func:`harness.metrics.qa.qa_scores`): ``exact_match``: ``[em]`` (mean);
      ``f1``: ``[f1, 1]`` (mean; two columns, so not read as span F1).
    """
    if kind == "extractive_qa":
        from harness.metrics.qa import exact_match, qa_f1

        norm: Any = normalisation
        em_rows: list[list[float]] = []
        qa_rows: list[list[float]] = []
        for p, g in zip(predictions, golds, strict=True):
            if not g:
                raise HarnessError(
                    "An extractive-QA example without a gold answer cannot be scored."
                )
            em_rows.append([max(exact_match(str(p), str(a), norm, language) for a in g)])
            qa_rows.append([max(qa_f1(str(p), str(a), norm, language) for a in g), 1.0])
        return {"exact_match": em_rows, "f1": qa_rows}
    if kind == "tagging":
        f1_rows: list[list[float]] = []
        token_rows: list[list[float]] = []
        for p, g in zip(predictions, golds, strict=True):
            pred, gold = _entities(p), _entities(g)
            f1_rows.append([float(len(pred & gold)), float(len(pred)), float(len(gold))])
            token_rows.append([float(sum(a == b for a, b in zip(p, g, strict=True))), len(g)])
        return {"f1": f1_rows, "token_accuracy": token_rows}
    return {
        "accuracy": [[float(str(p) == str(g))] for p, g in zip(predictions, golds, strict=True)]
    }


def metric_from_sums(metric: str, sums: np.ndarray) -> np.ndarray:
    """The metric from column sums of the statistics; ``sums`` has shape (..., columns).
    Three columns of ``f1`` are span F1's (tp, predicted, gold); two columns are a sum and a
    count (token accuracy, QA's per-question F1)."""
    sums = np.asarray(sums, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "f1" and sums.shape[-1] == 3:
            tp, pred, gold = sums[..., 0], sums[..., 1], sums[..., 2]
            denominator = pred + gold
            return np.where(
                denominator > 0, 2 * tp / np.where(denominator > 0, denominator, 1), 0.0
            )
        if sums.shape[-1] == 1:
            raise HarnessError(f"metric_from_sums needs the example count for '{metric}'.")
        return sums[..., 0] / sums[..., 1]


def metric_of(metric: str, stats: np.ndarray) -> float:
    """Corpus-level metric of an (examples, columns) array of statistics."""
    stats = np.asarray(stats, dtype=np.float64)
    if metric == "accuracy" or stats.shape[1] == 1:
        return float(stats[:, 0].mean())
    return float(metric_from_sums(metric, stats.sum(axis=0)))


def _resampled_metric(metric: str, stats: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The metric on every resample (rows of example indices ``idx``)."""
    if stats.shape[1] == 1:
        return stats[idx, 0].mean(axis=-1)
    return metric_from_sums(metric, stats[idx].sum(axis=-2))


# --------------------------------------------------------------------------------------------
# gains with a paired bootstrap over examples and seeds


@dataclass(frozen=True)
class Gain:
    gain: float
    low: float
    high: float
    p_value: float
    n_examples: int
    n_seeds: int


def paired_bootstrap_gain(
    system: Sequence[np.ndarray],
    baseline: Sequence[np.ndarray],
    metric: str,
    samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[Gain, np.ndarray]:
    """Gain of ``system`` over ``baseline`` (lists of per-seed (examples, columns) statistics,
    seed-paired, on the same examples): the point estimate, a percentile interval and the
    two-sided paired-bootstrap p-value of gain = 0; also the bootstrap replicates of the gain."""
    if len(system) != len(baseline) or not system:
        raise HarnessError("A paired bootstrap needs the same seeds for system and baseline.")
    sys_ = np.stack([np.asarray(s, dtype=np.float64) for s in system])
    base = np.stack([np.asarray(b, dtype=np.float64) for b in baseline])
    if sys_.shape != base.shape:
        raise HarnessError("System and baseline were scored on different examples.")
    k, n = sys_.shape[0], sys_.shape[1]
    point = float(
        np.mean([metric_of(metric, sys_[j]) - metric_of(metric, base[j]) for j in range(k)])
    )
    rng = np.random.default_rng(seed)
    seed_idx = rng.integers(0, k, size=(samples, k))
    ex_idx = rng.integers(0, n, size=(samples, n))
    # per seed and replicate, the metric on the resampled examples; then the resampled seeds
    per_seed = np.stack(
        [
            _resampled_metric(metric, sys_[j], ex_idx) - _resampled_metric(metric, base[j], ex_idx)
            for j in range(k)
        ],
        axis=1,
    )  # (samples, k)
    draws = np.take_along_axis(per_seed, seed_idx, axis=1).mean(axis=1)
    alpha = 1 - confidence
    low, high = np.percentile(draws, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    extreme = np.abs(draws - point) >= abs(point) - 1e-12
    p = float((1 + extreme.sum()) / (samples + 1))
    return Gain(point, float(low), float(high), p, n, k), draws


# --------------------------------------------------------------------------------------------
# rank correlations


@dataclass(frozen=True)
class RankCorrelation:
    spearman: float
    spearman_low: float
    spearman_high: float
    kendall: float
    kendall_low: float
    kendall_high: float
    spearman_task_low: float
    spearman_task_high: float
    n_tasks: int


def spearman(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    from scipy.stats import spearmanr

    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(xs) < 2 or np.unique(xs).size < 2 or np.unique(ys).size < 2:
        return float("nan")
    return float(spearmanr(xs, ys).statistic)


def kendall(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Kendall's tau-b (scipy's default)."""
    from scipy.stats import kendalltau

    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(xs) < 2 or np.unique(xs).size < 2 or np.unique(ys).size < 2:
        return float("nan")
    return float(kendalltau(xs, ys).statistic)


def _percentile_interval(draws: np.ndarray, confidence: float) -> tuple[float, float]:
    draws = draws[~np.isnan(draws)]
    if not len(draws):
        return float("nan"), float("nan")
    alpha = 1 - confidence
    low, high = np.percentile(draws, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(low), float(high)


def rank_correlation(
    difficulty: Sequence[float],
    gains: Sequence[float],
    gain_draws: np.ndarray,
    confidence: float = 0.95,
) -> RankCorrelation:
    """Spearman and Kendall of difficulty vs gain across tasks, with intervals over the
    bootstrap replicates of the gains (``gain_draws``: (samples, tasks)), and Spearman's
    interval over resampled tasks."""
    from harness.results.views import resampled_spearman, spearman_with_interval

    d = np.asarray(difficulty, dtype=float)
    draws = np.asarray(gain_draws, dtype=float)
    samples, n = draws.shape
    # the difficulty is fixed and each row of draws is one replicate of the gains: lay them out
    # so that row r of the index matrix picks (d, draws[r]) for the vectorised Spearman
    idx = np.arange(samples * n).reshape(samples, n)
    rho_draws = resampled_spearman(np.tile(d, samples), draws.ravel(), idx)
    tau_draws = np.array([kendall(d, row) for row in draws])
    s_low, s_high = _percentile_interval(rho_draws, confidence)
    k_low, k_high = _percentile_interval(tau_draws, confidence)
    by_task = spearman_with_interval(list(d), [float(g) for g in gains])
    return RankCorrelation(
        spearman=spearman(d, gains),
        spearman_low=s_low,
        spearman_high=s_high,
        kendall=kendall(d, gains),
        kendall_low=k_low,
        kendall_high=k_high,
        spearman_task_low=by_task.low,
        spearman_task_high=by_task.high,
        n_tasks=len(d),
    )


def tier_table(values: dict[str, float], n: int) -> dict[str, int]:
    from harness.difficulty import tiers

    return tiers(values, n)


def is_finite(value: float) -> bool:
    return value is not None and not math.isnan(value)


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
    from harness.evaluate import examples_path
    from harness.results.files import read_result

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
    from harness.difficulty import read_difficulty_file

    rows = [row for p in sorted(difficulty_dir.glob("*.json")) for row in read_difficulty_file(p)]
    return pd.DataFrame(rows, columns=["task", "measure", "value", "model", "seed"])


def _group_labels(language: dict[str, Any]) -> dict[str, str]:
    from harness.results.views import resource_band

    return {
        "genus": str(language.get("genus") or "unknown"),
        "script": str(language.get("script") or "unknown"),
        "resource_band": resource_band(language.get("resource_class")),
    }


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
    from harness.io import atomic_write_text

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
            for task, tier in tier_table(values, n_tiers).items():
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


def print_tables(tables: dict[str, Any], confidence: float) -> None:
    """The analysis in the terminal (rich): gains, difficulty, correlations."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    level = f"{100 * confidence:g}%"
    gains: pd.DataFrame = tables["gains"]
    table = Table(title=f"Gain over the baseline (points; {level} bootstrap interval)")
    for column in ("target", "language", "intermediate", "gain", "interval", "p", "seeds"):
        table.add_column(
            column, justify="left" if column in ("target", "language", "intermediate") else "right"
        )
    for row in gains.itertuples():
        mark = " *" if row.significant else ""
        table.add_row(
            str(row.target),
            str(row.language),
            str(row.intermediate),
            f"{100 * row.gain:+.2f}{mark}",
            f"[{100 * row.low:+.2f}, {100 * row.high:+.2f}]",
            f"{row.p_value:.3f}",
            str(row.n_seeds),
        )
    console.print(table)
    difficulty: pd.DataFrame = tables["difficulty"]
    if not difficulty.empty:
        dt = Table(title="Difficulty of the intermediate tasks (higher = harder; tier 1 = easiest)")
        for column in ("measure", "task", "value", "tier"):
            dt.add_column(column)
        for row in difficulty.sort_values(["measure", "value"]).itertuples():
            dt.add_row(str(row.measure), str(row.task), f"{row.value:.4f}", str(row.tier))
        console.print(dt)
    correlations: pd.DataFrame = tables["correlations"]
    if not correlations.empty:
        ct = Table(
            title=f"Rank correlation of difficulty with gain ({level} intervals over "
            "examples and seeds)"
        )
        for column in ("measure", "grouping", "group", "tasks", "Spearman", "Kendall"):
            ct.add_column(column)
        for row in correlations.itertuples():
            ct.add_row(
                str(row.measure),
                str(row.grouping),
                str(row.group),
                str(row.n_tasks),
                _fmt_corr(row.spearman, row.spearman_low, row.spearman_high),
                _fmt_corr(row.kendall, row.kendall_low, row.kendall_high),
            )
        console.print(ct)


def _fmt_corr(value: float, low: float, high: float) -> str:
    if not is_finite(value):
        return "n/a"
    return f"{value:+.2f} [{low:+.2f}, {high:+.2f}]"
