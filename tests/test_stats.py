"""Intervals and metrics against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from defendability import stats


def test_wilson_matches_closed_form():
    k, n, z = 37, 200, 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    lo, hi = stats.wilson(k, n)
    assert lo == pytest.approx(centre - half, abs=1e-9) and hi == pytest.approx(centre + half, abs=1e-9)


def test_wilson_without_trials_is_uninformative():
    assert stats.wilson(0, 0) == (0.0, 1.0)


def test_upper_bound_with_zero_count_is_the_rule_of_three():
    # exact: 1 - 0.05 ** (1/n)
    assert stats.upper_bound(0, 1000) == pytest.approx(1 - 0.05 ** (1 / 1000), rel=1e-9)
    assert stats.upper_bound(5, 5) == 1.0


def test_upper_bound_covers_the_truth_at_the_stated_rate():
    rng = np.random.default_rng(0)
    n, p, trials = 400, 0.03, 2000
    covered = sum(stats.upper_bound(int(rng.binomial(n, p)), n) >= p for _ in range(trials))
    lo, _ = stats.wilson(covered, trials)
    assert lo <= 0.95 <= 1.0 and covered / trials >= 0.93


def test_auroc_is_one_sided_and_uses_scores():
    assert stats.auroc([0.1, 0.2], [0.8, 0.9]) == 1.0
    assert stats.auroc([0.8, 0.9], [0.1, 0.2]) == 0.0  # never flipped
    assert stats.auroc([0.5, 0.5], [0.5, 0.5]) == 0.5
    assert stats.auroc([], [1.0]) is None


def test_tpr_at_fpr_calibrates_on_a_disjoint_half():
    rng = np.random.default_rng(1)
    neg, pos = rng.normal(0, 1, 4000), rng.normal(3, 1, 2000)
    out = stats.tpr_at_fpr(neg, pos, 0.05)
    assert out["threshold"] == pytest.approx(1.645, abs=0.1)
    assert abs(out["fpr_realised"] - 0.05) < 0.02
    assert out["tpr"] == pytest.approx(0.91, abs=0.03)  # Phi(3 - 1.645)
