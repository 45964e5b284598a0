"""Statistics of results, shared by the analysis stage and the leaderboard: metrics from
per-example sufficient statistics, paired-bootstrap gains, rank correlations with intervals,
difficulty tiers.

Conventions: intervals are percentile bootstrap intervals with a fixed seed (a page or an
analysis run shows the same numbers every time); a gain is a system's metric minus the
baseline's on the same examples and seeds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from harness.errors import HarnessError

BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_SEED = 20260101


# --------------------------------------------------------------------------------------------
# metrics from per-example sufficient statistics


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


def bootstrap_mean_interval(
    values: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float]:
    """95 % percentile bootstrap interval of the mean of ``values`` (NaN for fewer than 2)."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) < 2:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(samples, len(values)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


# --------------------------------------------------------------------------------------------
# rank correlations


@dataclass(frozen=True)
class Correlation:
    rho: float
    low: float
    high: float
    n: int


def spearman_with_interval(
    x: Sequence[float], y: Sequence[float], samples: int = BOOTSTRAP_SAMPLES
) -> Correlation:
    """Spearman's rho of (x, y) with a 95 % bootstrap interval over the pairs."""
    from scipy.stats import spearmanr

    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(xs)
    if n < 3 or np.unique(xs).size < 2 or np.unique(ys).size < 2:
        return Correlation(float("nan"), float("nan"), float("nan"), n)
    rho = float(spearmanr(xs, ys).statistic)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    draws = resampled_spearman(xs, ys, rng.integers(0, n, size=(samples, n)))
    draws = draws[~np.isnan(draws)]
    if not len(draws):
        return Correlation(rho, float("nan"), float("nan"), n)
    low, high = np.percentile(draws, [2.5, 97.5])
    return Correlation(rho, float(low), float(high), n)


def resampled_spearman(xs: np.ndarray, ys: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Spearman's rho of every resample (row of indices ``idx``) at once, as Pearson's r of the
    average ranks; NaN where x or y is constant in the resample."""
    from scipy.stats import rankdata

    rx, ry = rankdata(xs[idx], axis=1), rankdata(ys[idx], axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    norm = np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, (rx * ry).sum(axis=1) / norm, np.nan)


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


# --------------------------------------------------------------------------------------------
# difficulty tiers


def tiers(values: Mapping[str, float], n: int = 3) -> dict[str, int]:
    """Difficulty tiers by quantile of the values (terciles for ``n=3``): 1 = easiest. A task's
    tier is ``ceil(rank * n / count)`` with rank 1 the lowest value; ties are broken by task
    name so the tiers are deterministic. The one definition of tiers: the analysis, the stored
    ``difficulty_tiers`` table and the leaderboard all use it."""
    if n < 1:
        raise HarnessError("The number of difficulty tiers must be at least 1.")
    order = sorted(values, key=lambda task: (values[task], task))
    return {task: math.ceil((rank + 1) * n / len(order)) for rank, task in enumerate(order)}
