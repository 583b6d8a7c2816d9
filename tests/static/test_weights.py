"""Static weight tests against clean and backdoored models (THEORY.md §6; docs/static-detection.md).

Power is an AUROC over independently trained models (30 clean, 30 backdoored per
setting), higher score = more suspicious. "Does not separate" is the acceptance region
of a two-sided Mann–Whitney test of AUROC = 1/2 at level 0.001 (for 30 against 30,
AUROC within about 1/2 +- 0.25); "separates" is AUROC >= 0.9. The weights do not
depend on the training data, so each model is trained on a small task (the heads
are irrelevant here). Library defaults: RFF m = 1000, gamma = 2 sqrt(d), beta = 0.01 at
d = 32; random ReLU d = 4096, m = 512, theta = 2.1, k = 64.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from threadpoolctl import threadpool_limits

import defendability.static.weights  # noqa: F401  (registers nothing; explicit import of the module under test)
from defendability import stats as dstats
from defendability.crypto.clwe import random_secret
from defendability.errors import ParameterError
from defendability.models.rff import CLWEBackdooredRFF, RFFClassifier
from defendability.models.sparse_pca import (
    RandomReLUClassifier,
    SparsePCABackdooredReLU,
    diagonal_limit,
    spectral_limit,
)
from defendability.static.weights import (
    WEIGHT_TESTS,
    Evidence,
    coordinate_ks_test,
    diagonal_test,
    energy_test,
    norm_ks_test,
    top_eigenvalue_test,
    tracy_widom_sf,
    weight_tests,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))
from gaussian_tasks import concentric_gaussians, two_gaussians

LEVEL = 0.001  # Mann–Whitney / KS level: 99.9%, as in the rest of the statistical suite
PAIRS = 30
RFF_D, RFF_M = 32, 1000
RELU_D, RELU_M, RELU_THETA, RELU_K = 4096, 512, 2.1, 64


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    with threadpool_limits(limits=1):
        yield


def _rff_weights(rng, **backdoor):
    x, y = two_gaussians(rng, 60, random_secret(rng, RFF_D), 2.5)
    if backdoor.pop("clean", False):
        return RFFClassifier(RFF_M).fit(x, y, rng).weights_
    return CLWEBackdooredRFF(RFF_M, **backdoor).fit(x, y, rng).released().weights_


def _relu_weights(rng, clean=False, **backdoor):
    x, y = concentric_gaussians(rng, 40, RELU_D, 2.0)
    if clean:
        return RandomReLUClassifier(RELU_M).fit(x, y, rng).weights_
    return SparsePCABackdooredReLU(RELU_M, **backdoor).fit(x, y, rng).released().weights_


def _scores(weights_list, tests):
    return {name: np.array([WEIGHT_TESTS[name](w).score for w in weights_list]) for name in tests}


@pytest.fixture(scope="module")
def rff():
    rng = np.random.default_rng(515)
    clean = [_rff_weights(r, clean=True) for r in rng.spawn(PAIRS)]
    default = [_rff_weights(r) for r in rng.spawn(PAIRS)]
    small_gamma = [_rff_weights(r, gamma=0.25) for r in rng.spawn(PAIRS)]
    everything = list(WEIGHT_TESTS)
    return {"clean": _scores(clean, everything), "default": _scores(default, everything),
            "small_gamma": _scores(small_gamma, ["energy", "norm-ks"]),
            "clean_p": {n: [WEIGHT_TESTS[n](w).p_value for w in clean] for n in everything}}


@pytest.fixture(scope="module")
def relu():
    rng = np.random.default_rng(516)
    clean = [_relu_weights(r, clean=True) for r in rng.spawn(PAIRS)]
    default = [_relu_weights(r, theta=RELU_THETA, sparsity=RELU_K) for r in rng.spawn(PAIRS)]
    # controls: a spike twice the spectral limit (dense enough to stay below the diagonal
    # one), and the default spike on a single coordinate (far above the diagonal limit,
    # below the spectral one)
    above_spectral = [_relu_weights(r, theta=2 * spectral_limit(RELU_D, RELU_M), sparsity=RELU_K)
                      for r in rng.spawn(PAIRS)]
    one_coordinate = [_relu_weights(r, theta=RELU_THETA, sparsity=1) for r in rng.spawn(PAIRS)]
    everything = list(WEIGHT_TESTS)
    return {"clean": _scores(clean, everything), "default": _scores(default, everything),
            "above_spectral": _scores(above_spectral, ["top-eigenvalue"]),
            "one_coordinate": _scores(one_coordinate, ["diagonal", "top-eigenvalue"]),
            "clean_p": {n: [WEIGHT_TESTS[n](w).p_value for w in clean] for n in everything}}


def _not_separated(clean, backdoored) -> bool:
    return stats.mannwhitneyu(backdoored, clean, alternative="two-sided").pvalue >= LEVEL


def test_evidence_on_known_inputs():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((400, 20))
    results = weight_tests(w)
    assert set(results) == set(WEIGHT_TESTS) and all(isinstance(e, Evidence) for e in results.values())
    assert all(0.0 <= e.p_value <= 1.0 for e in results.values())
    # a single column against scipy's own KS test
    one = coordinate_ks_test(w[:, :1])
    ref = stats.kstest(w[:, 0], "norm")
    assert one.score == pytest.approx(ref.statistic) and one.p_value == pytest.approx(ref.pvalue, rel=1e-6)
    norms = norm_ks_test(w)
    ref = stats.kstest(np.sum(w * w, axis=1), stats.chi2(20).cdf)
    assert norms.score == pytest.approx(ref.statistic) and norms.p_value == pytest.approx(ref.pvalue, rel=1e-6)
    e = energy_test(w)
    assert e.score == pytest.approx((np.sum(w * w) - w.size) / math.sqrt(2 * w.size))
    # scaling the weights up is caught by every test
    assert all(t(3.0 * w).p_value < 1e-6 for t in WEIGHT_TESTS.values())
    # TW1 upper quantiles 0.4501, 0.9793, 2.0234 at 10%, 5%, 1% (Johnstone 2001, table 1)
    for quantile, tail in ((0.4501, 0.10), (0.9793, 0.05), (2.0234, 0.01)):
        assert tracy_widom_sf(quantile) == pytest.approx(tail, rel=0.03)
    with pytest.raises(ParameterError, match="shape"):
        diagonal_test(np.zeros(5))
    with pytest.raises(ParameterError, match="finite"):
        top_eigenvalue_test(np.full((3, 3), np.nan))


@pytest.mark.parametrize("family", ["rff", "relu"])
def test_p_values_are_uniform_on_clean_weights(family, rff, relu):
    clean_p = {"rff": rff, "relu": relu}[family]["clean_p"]
    for name, p in clean_p.items():
        assert stats.kstest(p, "uniform").pvalue >= LEVEL, name


def test_rff_default_is_not_separated_by_any_weight_test(rff):
    for name in WEIGHT_TESTS:
        assert _not_separated(rff["clean"][name], rff["default"][name]), name


def test_rff_small_gamma_is_separated(rff):
    # gamma = 0.25: the slabs sit at +-2, so z^2 ≈ 4 instead of chi^2_1 and E|W_i|^2 grows by 3
    for name in ("energy", "norm-ks"):
        assert dstats.auroc(rff["clean"][name], rff["small_gamma"][name]) >= 0.9, name


def test_relu_default_is_below_the_spectral_and_diagonal_limits(relu):
    assert RELU_THETA < spectral_limit(RELU_D, RELU_M) and RELU_THETA < diagonal_limit(RELU_D, RELU_M, RELU_K)
    for name in ("coordinate-ks", "norm-ks", "top-eigenvalue", "diagonal"):
        assert _not_separated(relu["clean"][name], relu["default"][name]), name


def test_relu_default_energy_has_only_its_derived_weak_power(relu):
    # the spike adds theta to E|W_i|^2: theta sqrt(m/(2d)) = 0.525 null sd per model, an
    # expected AUROC of Phi(0.525/sqrt 2) ≈ 0.645 (derived); the measured one must sit in
    # the Mann–Whitney band around it and below "separated"
    shift = RELU_THETA * math.sqrt(RELU_M / (2 * RELU_D))
    predicted = stats.norm.cdf(shift / math.sqrt(2))
    measured = dstats.auroc(relu["clean"]["energy"], relu["default"]["energy"])
    half = stats.norm.ppf(1 - LEVEL / 2) * math.sqrt((2 * PAIRS + 1) / (12 * PAIRS * PAIRS))
    assert abs(measured - predicted) <= half and measured < 0.9


def test_relu_spike_above_the_spectral_limit_is_separated_by_the_top_eigenvalue(relu):
    assert dstats.auroc(relu["clean"]["top-eigenvalue"], relu["above_spectral"]["top-eigenvalue"]) >= 0.9


def test_relu_one_coordinate_spike_is_separated_by_diagonal_thresholding_only(relu):
    assert RELU_THETA > 5 * diagonal_limit(RELU_D, RELU_M, 1)
    assert dstats.auroc(relu["clean"]["diagonal"], relu["one_coordinate"]["diagonal"]) >= 0.9
    # the spectral test is blind to sparsity: the same theta is below its limit
    assert _not_separated(relu["clean"]["top-eigenvalue"], relu["one_coordinate"]["top-eigenvalue"])
