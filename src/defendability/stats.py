"""Confidence intervals and scoring metrics (thin wrappers over scipy and scikit-learn).

Conventions (THEORY.md §7): 95% intervals; Wilson for proportions; one-sided
Clopper–Pearson upper bounds for the referee's distance estimates; AUROC and TPR at a
fixed FPR from graded scores only (higher = more suspicious, never flipped), with the
threshold calibrated on a clean split disjoint from the one the FPR is measured on.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _st

CONFIDENCE = 0.95


def wilson(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; ``(0, 1)`` when there are no trials."""
    if trials <= 0:
        return (0.0, 1.0)
    ci = _st.binomtest(int(successes), int(trials)).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


def sum_interval(k1: int, n1: int, k2: int, n2: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Interval for p1 + p2 from two binomial counts that may be dependent.

    Each proportion gets a Wilson interval at level 1 - (1 - confidence)/2; by the union
    bound both hold at once with probability >= ``confidence``, whatever the dependence
    between the two counts (in the game, the clean and the backdoor decision of a round
    share the attacker's f and are correlated, so pooling them as 2n independent trials
    would give too narrow an interval).
    """
    half = 1.0 - (1.0 - confidence) / 2.0
    lo1, hi1 = wilson(k1, n1, half)
    lo2, hi2 = wilson(k2, n2, half)
    return (lo1 + lo2, hi1 + hi2)


def upper_bound(successes: int, trials: int, confidence: float = CONFIDENCE) -> float:
    """One-sided Clopper–Pearson upper confidence bound on a binomial proportion."""
    if successes >= trials:
        return 1.0
    return float(_st.beta.ppf(confidence, successes + 1, trials - successes))


def auroc(negative_scores: np.ndarray, positive_scores: np.ndarray) -> float | None:
    """Area under the ROC curve (positives = backdoor inputs); ``None`` if a side is empty."""
    neg, pos = np.asarray(negative_scores, float), np.asarray(positive_scores, float)
    if len(neg) == 0 or len(pos) == 0:
        return None
    from sklearn.metrics import roc_auc_score

    y = np.r_[np.zeros(len(neg)), np.ones(len(pos))]
    return float(roc_auc_score(y, np.r_[neg, pos]))


def tpr_at_fpr(negative_scores: np.ndarray, positive_scores: np.ndarray, fpr: float) -> dict[str, float] | None:
    """TPR at a target FPR, threshold calibrated on half of the clean scores.

    The clean scores are split alternately: the calibration half sets the threshold (the
    smallest score exceeded by at most ``fpr`` of it), the held-out half gives the
    realised FPR. Returns ``{"fpr_target", "threshold", "tpr", "fpr_realised"}``.
    """
    neg, pos = np.asarray(negative_scores, float), np.asarray(positive_scores, float)
    if len(neg) < 4 or len(pos) == 0:
        return None
    calib, held = neg[0::2], neg[1::2]
    threshold = float(np.quantile(calib, 1.0 - fpr, method="higher"))
    return {
        "fpr_target": fpr,
        "threshold": threshold,
        "tpr": float(np.mean(pos > threshold)),
        "fpr_realised": float(np.mean(held > threshold)),
    }
