"""Confidence intervals and scoring metrics.

Conventions (THEORY.md §7): 95% intervals; Wilson for proportions; one-sided
Clopper–Pearson upper bounds for the referee's distance estimates; AUROC and TPR at a
fixed FPR from graded scores only (higher = more suspicious, never flipped), with the
threshold calibrated on a clean split disjoint from the one the FPR is measured on.

The Wilson interval is computed in closed form (the formula of scipy's
``binomtest(...).proportion_ci(method="wilson")``, which it matches to within a few
units in the last place): every summary of a match calls it, and scipy's version costs
about half a millisecond a call. scipy and scikit-learn are imported only inside the
functions that need them (the Clopper–Pearson bound, AUROC), so that importing this
module, which every game does, costs little more than importing numpy.
"""

from __future__ import annotations

import functools
import math
from statistics import NormalDist

import numpy as np

CONFIDENCE = 0.95


@functools.lru_cache(maxsize=64)
def normal_quantile(confidence: float) -> float:
    """The two-sided critical value z of a confidence level: the standard normal
    quantile at ``1 - (1 - confidence)/2`` (1.95996... for 0.95)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return NormalDist().inv_cdf(0.5 + 0.5 * confidence)


def wilson(successes: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; ``(0, 1)`` when there are no trials.

    As scipy's ``binomtest(successes, trials).proportion_ci(confidence, "wilson")``
    (Newcombe 1998): ``(2np + z^2 -+ z sqrt(4npq + z^2)) / (2(n + z^2))``, with the
    lower end exactly 0 when ``successes == 0`` and the upper end exactly 1 when
    ``successes == trials``.
    """
    if trials <= 0:
        return (0.0, 1.0)
    k, n = int(successes), int(trials)
    if not 0 <= k <= n:
        raise ValueError(f"successes must be an integer between 0 and trials={n}, got {successes!r}")
    z = normal_quantile(float(confidence))
    p = k / n
    z2 = z * z
    denom = 2 * (n + z2)
    centre = (2 * n * p + z2) / denom
    delta = z / denom * math.sqrt(4 * n * p * (1 - p) + z2)
    return (0.0 if k == 0 else centre - delta, 1.0 if k == n else centre + delta)


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
    from scipy.stats import beta  # imported here: about 0.6 s, needed only for sampled distances

    return float(beta.ppf(confidence, successes + 1, trials - successes))


def auroc(negative_scores: np.ndarray, positive_scores: np.ndarray) -> float | None:
    """Area under the ROC curve (positives = backdoor inputs); ``None`` if a side is empty."""
    neg, pos = np.asarray(negative_scores, float), np.asarray(positive_scores, float)
    if len(neg) == 0 or len(pos) == 0:
        return None
    from sklearn.metrics import roc_auc_score  # imported here: only graded defenders need it

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
