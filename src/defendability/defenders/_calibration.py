"""Thresholds calibrated on clean inputs, for score-valued defenders (THEORY.md §7, §9)."""

from __future__ import annotations

import math

import numpy as np

from ..errors import check


def check_fpr(fpr: object) -> None:
    check(isinstance(fpr, float) and 0.0 < fpr < 1.0, f"fpr must be in (0, 1), got {fpr!r}")


def conformal_threshold(scores: np.ndarray, fpr: float) -> float:
    """The split-conformal threshold for REJECT iff score > threshold: the
    ceil((n + 1)(1 - fpr))-th smallest of n clean scores (``inf`` when that exceeds n).
    For a fresh clean input exchangeable with the n, Pr[score > threshold] <= fpr."""
    scores = np.sort(np.asarray(scores, dtype=float))
    rank = math.ceil((len(scores) + 1) * (1.0 - fpr))
    return float(scores[rank - 1]) if rank <= len(scores) else math.inf
