"""Intervals and metrics against independent computations."""

from __future__ import annotations

import math
import subprocess
import sys

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


def _wilson_cases() -> list[tuple[int, int, float]]:
    """(k, n, confidence): every k for small n, the ends and random k for large n, at
    common and odd levels."""
    rng = np.random.default_rng(2024)
    levels = (0.95, 0.975, 0.99, 0.5, 0.01, 0.999999, *rng.uniform(0.001, 0.9999, 2))
    counts = [(k, n) for n in range(1, 26) for k in range(n + 1)]
    for n in (*rng.integers(26, 10**4, 30), 10**6, 10**9):
        n = int(n)
        counts += [(0, n), (1, n), (n - 1, n), (n, n), (n // 2, n), *((int(k), n) for k in rng.integers(0, n + 1, 4))]
    return [(k, n, float(c)) for k, n in counts for c in levels]


def test_wilson_matches_scipy_binomtest_to_1e_12():
    from scipy.stats import binomtest

    cases = _wilson_cases()
    assert len(cases) > 4_000
    worst = 0.0
    for k, n, c in cases:
        ci = binomtest(k, n).proportion_ci(confidence_level=c, method="wilson")
        lo, hi = stats.wilson(k, n, c)
        worst = max(worst, abs(lo - ci.low), abs(hi - ci.high))
        if k == 0:
            assert lo == ci.low == 0.0
        if k == n:
            assert hi == ci.high == 1.0
    assert worst <= 1e-12, worst


def test_wilson_refuses_impossible_counts_and_levels():
    for bad in ((5, 4, 0.95), (-1, 4, 0.95), (1, 4, 0.0), (1, 4, 1.0), (1, 4, 1.5)):
        with pytest.raises(ValueError) as err:
            stats.wilson(*bad)
        assert "\n" not in str(err.value)


def test_sum_interval_is_the_sum_of_wilson_intervals_at_the_halved_level():
    lo1, hi1 = stats.wilson(3, 200, 0.975)
    lo2, hi2 = stats.wilson(40, 150, 0.975)
    assert stats.sum_interval(3, 200, 40, 150) == (lo1 + lo2, hi1 + hi2)
    assert stats.normal_quantile(0.95) == pytest.approx(1.959963984540054, abs=1e-15)


def test_importing_stats_imports_neither_scipy_nor_sklearn():
    """The module alone (loaded from its file, so no other part of the package is
    imported): scipy and scikit-learn wait until a function needs them."""
    code = ("import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('stats_alone', {stats.__file__!r})\n"
            "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
            "assert module.wilson(3, 10) and module.sum_interval(1, 5, 2, 5)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'sklearn')))\n"
            "module.upper_bound(1, 10)\n"
            "print('scipy.stats' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]" and out[1] == "True"  # the bound, not the import, brought scipy in


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
