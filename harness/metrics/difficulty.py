"""Difficulty measures of a task, as pure functions of gold-label probabilities.

* Pointwise V-information (Ethayarajh et al., ICML 2022): ``PVI(x -> y) = -log2 g_null(y |
  null input) + log2 g(y | x)``, in bits (:func:`pointwise_v_information`); V-information is
  an infimum of cross-entropy (:func:`mean_log_loss` is the quantity minimised).
* Dataset cartography (Swayamdipta et al., EMNLP 2020): each training example's confidence and
  variability over epochs (:func:`cartography`), and the share in the hard-to-learn region
  (:func:`hard_to_learn_share`).
"""

from __future__ import annotations

import math

import numpy as np

MEASURES = ("neg_mean_pvi", "baseline_error", "hard_to_learn")
"""Stored measures, each oriented so that higher means harder."""


def pointwise_v_information(p_model: np.ndarray, p_null: np.ndarray) -> np.ndarray:
    """PVI in bits: log2 g(y|x) - log2 g_null(y|null), per example."""
    tiny = np.finfo(np.float64).tiny
    return np.log2(np.maximum(p_model, tiny)) - np.log2(np.maximum(p_null, tiny))


def mean_log_loss(probs: np.ndarray) -> float:
    """Mean cross-entropy in bits of gold-label probabilities (``inf`` for none)."""
    if not len(probs):
        return math.inf
    return float(-np.log2(np.maximum(probs, np.finfo(np.float64).tiny)).mean())


def cartography(gold_probs_by_epoch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Confidence (mean) and variability (population standard deviation) over epochs of each
    example's gold-label probability; input shape (epochs, examples)."""
    probs = np.asarray(gold_probs_by_epoch, dtype=np.float64)
    return probs.mean(axis=0), probs.std(axis=0)


def hard_to_learn_share(
    confidence: np.ndarray, variability: np.ndarray, max_confidence: float, max_variability: float
) -> float:
    """Share of examples in the hard-to-learn region (low confidence, low variability)."""
    hard = (confidence < max_confidence) & (variability < max_variability)
    return float(hard.mean()) if len(hard) else float("nan")
