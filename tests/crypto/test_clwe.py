"""The half-offset Gaussian-pancakes sampler and the key-holder's statistics
(THEORY.md §6.2): the exact law along the secret, the residuals, the orthogonal part,
what is (and is not) close to N(0, 1), and the brute-force scan at toy dimension.

Statistical checks fix their seeds and use 99.9% levels (chi-square, KS, normal)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.linalg import null_space

from defendability.crypto.clwe import (
    MIN_WEIGHT,
    PancakeLaw,
    brute_force_secret,
    clean_weight_statistic_sd,
    input_statistic,
    periodogram,
    random_secret,
    sample_pancakes,
    weight_statistic,
)
from defendability.errors import ParameterError

LEVEL = 0.999
Z = stats.norm.ppf(0.5 + LEVEL / 2)  # two-sided 99.9% normal quantile, 3.29


def _law_by_hand(gamma: float, beta: float, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Slab weights, means and sd written out from the product of the two Gaussians."""
    s2 = (beta / gamma) ** 2
    mu = (k + 0.5) / gamma
    # N(z; 0, 1) N(z; mu, s2) = N(mu; 0, 1 + s2) N(z; mu/(1+s2), s2/(1+s2))
    weight = stats.norm.pdf(mu, scale=math.sqrt(1 + s2))
    return weight / weight.sum(), mu / (1 + s2), math.sqrt(s2 / (1 + s2))


@pytest.mark.parametrize("gamma,beta", [(2.0, 0.01), (2 * math.sqrt(8), 0.01), (2.0, 0.4), (1.0, 0.0)])
def test_law_is_the_conditioned_gaussian_with_truncation_at_1e_300(gamma, beta):
    law = PancakeLaw.of(gamma, beta)
    probs, means, sd = _law_by_hand(gamma, beta, law.slabs.astype(float))
    assert np.allclose(law.probs, probs, rtol=1e-9, atol=0) and np.allclose(law.means, means)
    assert law.sd == pytest.approx(sd)
    assert law.probs.sum() == pytest.approx(1.0)
    # the kept range is symmetric about -1/2 and stops exactly where weights drop below 1e-300
    assert law.slabs[0] == -law.slabs[-1] - 1
    s2 = (beta / gamma) ** 2

    def rel_weight(k: int) -> float:
        mu, mu0 = (k + 0.5) / gamma, 0.5 / gamma
        return math.exp(-(mu * mu - mu0 * mu0) / (2 * (1 + s2)))

    assert rel_weight(int(law.slabs[-1])) >= MIN_WEIGHT > rel_weight(int(law.slabs[-1]) + 1)


@pytest.mark.parametrize("gamma,beta", [(2.0, 0.01), (2 * math.sqrt(8), 0.01), (2.0, 0.3), (3.0, 0.0)])
def test_law_has_mean_0_and_variance_1(gamma, beta):
    # derived: the slab weights are a discretised N(0, 1 + sigma^2), so E mu_k^2 = 1 + sigma^2
    # up to exp(-2 pi^2 gamma^2), and Var z = E[mu_k^2]/(1+s2)^2 + s2/(1+s2) = 1
    law = PancakeLaw.of(gamma, beta)
    assert abs(law.mean()) < 1e-12
    assert law.variance() == pytest.approx(1.0, abs=1e-12)


def test_residuals_have_standard_deviation_beta():
    rng = np.random.default_rng(11)
    d, n, beta = 8, 20000, 0.01
    gamma = 2 * math.sqrt(d)
    w = random_secret(rng, d)
    weights, slabs = sample_pancakes(rng, w, n, gamma, beta)
    residual = gamma * (weights @ w) - (slabs + 0.5)
    # the slab is the nearest half-integer (the slabs are far narrower than their spacing)
    assert np.array_equal(slabs, np.floor(gamma * (weights @ w)))
    # chi-square interval for the standard deviation of n draws with known mean 0
    ss = float(np.sum(residual ** 2))
    lo = math.sqrt(ss / stats.chi2.ppf(0.5 + LEVEL / 2, n))
    hi = math.sqrt(ss / stats.chi2.ppf(0.5 - LEVEL / 2, n))
    assert lo <= beta <= hi, (lo, hi)
    assert hi / lo < 1.05  # the interval is narrow enough to mean something


def test_residuals_follow_the_exact_conditional_law_at_large_beta():
    # at beta = 0.4, gamma = 2 the shrinkage toward 0 is visible: the residual
    # gamma z - (k + 1/2) has mean -(k + 1/2) s2/(1 + s2), not 0 (derived), and
    # standard deviation beta/sqrt(1 + s2)
    rng = np.random.default_rng(12)
    gamma, beta, n = 2.0, 0.4, 20000
    s2 = (beta / gamma) ** 2
    w = random_secret(rng, 5)
    weights, slabs = sample_pancakes(rng, w, n, gamma, beta)
    z = weights @ w
    standard = (z - (slabs + 0.5) / gamma / (1 + s2)) / math.sqrt(s2 / (1 + s2))
    chi = float(np.sum(standard ** 2))
    assert stats.chi2.ppf(0.5 - LEVEL / 2, n) <= chi <= stats.chi2.ppf(0.5 + LEVEL / 2, n)
    assert stats.kstest(standard, "norm").pvalue > 1 - LEVEL
    fit = stats.linregress(slabs + 0.5, gamma * z - (slabs + 0.5))
    assert abs(fit.slope - (-s2 / (1 + s2))) <= Z * fit.stderr
    assert abs(fit.slope) > 10 * fit.stderr  # a sampler centred on k + 1/2 would fail here


def test_projections_orthogonal_to_the_secret_are_standard_normal():
    rng = np.random.default_rng(13)
    d, n = 6, 5000
    w = random_secret(rng, d)
    weights, _ = sample_pancakes(rng, w, n, 2 * math.sqrt(d), 0.01)
    basis = null_space(w[None, :])  # (d, d - 1), orthonormal, orthogonal to w
    proj = weights @ basis
    for j in range(d - 1):
        # Bonferroni over the d - 1 directions
        assert stats.kstest(proj[:, j], "norm").pvalue > (1 - LEVEL) / (d - 1)
    # and they are uncorrelated with unit variance (a chi-square check on the Gram matrix diagonal)
    ss = np.sum(proj ** 2, axis=0)
    assert np.all((ss >= stats.chi2.ppf(0.0005 / (d - 1), n)) & (ss <= stats.chi2.ppf(1 - 0.0005 / (d - 1), n)))


def test_coordinate_along_the_secret_has_the_exact_mixture_law_and_is_a_comb():
    rng = np.random.default_rng(14)
    gamma, beta, n = 2.0, 0.01, 20000
    w = random_secret(rng, 4)
    law = PancakeLaw.of(gamma, beta)
    z = sample_pancakes(rng, w, n, gamma, beta)[0] @ w
    assert stats.kstest(z, law.cdf).pvalue > 1 - LEVEL
    # the comb is plainly not N(0, 1) to anyone who looks along w
    assert stats.kstest(z, "norm").pvalue < 1e-12


@pytest.mark.parametrize("gamma", [2.0, 2 * math.sqrt(32)])
def test_marginal_along_the_secret_is_about_0_2_over_gamma_from_normal_for_small_beta(gamma):
    # derived: each slab's mass phi(mu_k)/gamma arrives at once, so the CDF deviates from
    # Phi by up to about half a slab, phi(0)/(2 gamma) ~ 0.2/gamma; small beta does not help
    law = PancakeLaw.of(gamma, 0.01)
    # the largest gap is at the heaviest slabs, next to 0; the grid resolves slabs of
    # width beta/gamma >= 0.0009
    grid = np.linspace(-0.3, 0.3, 60001)
    distance = float(np.max(np.abs(law.cdf(grid) - stats.norm.cdf(grid))))
    assert 0.85 <= distance * gamma / (stats.norm.pdf(0) / 2) <= 1.0


def test_marginal_approaches_normal_only_as_beta_grows():
    # first Fourier harmonic: |CDF - Phi| ~ exp(-2 pi^2 beta^2) phi(0) / (pi gamma)
    grid = np.linspace(-6, 6, 120001)
    for beta in (0.3, 0.5):
        law = PancakeLaw.of(2.0, beta)
        distance = float(np.max(np.abs(law.cdf(grid) - stats.norm.cdf(grid))))
        predicted = math.exp(-2 * math.pi ** 2 * beta ** 2) * stats.norm.pdf(0) / (math.pi * 2.0)
        assert distance == pytest.approx(predicted, rel=0.05)


@pytest.mark.parametrize("beta", [0.003, 0.01, 0.03, 0.1])
def test_expected_cos_is_minus_exp_minus_2_pi2_beta2(beta):
    gamma = 2 * math.sqrt(32)
    law = PancakeLaw.of(gamma, beta)
    # the exact value differs from the first-order one by O(beta^2/gamma^2) relative
    assert law.expected_cos() == pytest.approx(-math.exp(-2 * math.pi ** 2 * beta ** 2), rel=1e-3)


def test_weight_statistic_separates_pancakes_from_clean_weights():
    rng = np.random.default_rng(15)
    d, m = 16, 2000
    gamma = 2 * math.sqrt(d)
    w = random_secret(rng, d)
    for beta in (0.01, 0.1):
        weights, _ = sample_pancakes(rng, w, m, gamma, beta)
        cosines = np.cos(2 * math.pi * gamma * (weights @ w))
        stat = weight_statistic(weights, w, gamma)
        assert stat == pytest.approx(cosines.mean())
        expected = PancakeLaw.of(gamma, beta).expected_cos()
        assert abs(stat - expected) <= Z * cosines.std(ddof=1) / math.sqrt(m) + 1e-12
    clean = rng.standard_normal((m, d))
    assert abs(weight_statistic(clean, w, gamma)) <= Z * clean_weight_statistic_sd(m)
    # the null standard deviation 1/sqrt(2m) is right: check it over many clean draws
    draws = np.array([weight_statistic(rng.standard_normal((200, d)), w, gamma) for _ in range(400)])
    ratio = draws.var(ddof=1) / clean_weight_statistic_sd(200) ** 2
    assert stats.chi2.ppf(0.0005, 399) / 399 <= ratio <= stats.chi2.ppf(0.9995, 399) / 399


def test_input_statistic_counts_activation_shifts():
    rng = np.random.default_rng(16)
    d, gamma, scale = 32, 2 * math.sqrt(32), 0.02
    w = random_secret(rng, d)
    x = rng.standard_normal((1000, d))
    natural = input_statistic(x, w, gamma, scale)
    activated = input_statistic(x + (gamma / scale) * w, w, gamma, scale)
    assert natural.shape == (1000,) and np.all(np.abs(natural) < 0.05)
    assert np.allclose(activated, natural + 1.0)
    assert natural.max() < 0.5 < activated.min()


@pytest.mark.parametrize("d", [2, 3])
def test_brute_force_scan_finds_the_secret_at_toy_dimension(d):
    rng = np.random.default_rng(17 + d)
    gamma, m = 2 * math.sqrt(d), 500
    w = random_secret(rng, d)
    weights, _ = sample_pancakes(rng, w, m, gamma, 0.01)
    u, score = brute_force_secret(weights, gamma)
    assert u.shape == (d,) and np.linalg.norm(u) == pytest.approx(1.0)
    assert math.acos(min(1.0, abs(float(u @ w)))) < 0.005  # w up to sign
    assert score > 0.99
    # on clean weights the best direction of the same scan shows no comb
    _, clean_score = brute_force_secret(rng.standard_normal((m, d)), gamma)
    assert clean_score < 0.25


def test_periodogram_is_near_1_along_the_secret_and_small_elsewhere():
    rng = np.random.default_rng(20)
    d, m = 8, 2000
    gamma = 2 * math.sqrt(d)
    w = random_secret(rng, d)
    weights, _ = sample_pancakes(rng, w, m, gamma, 0.01)
    others = np.array([random_secret(rng, d) for _ in range(50)])
    values = periodogram(weights, gamma, np.vstack([w, -w, others]))
    assert values[0] > 0.99 and values[1] > 0.99
    # a direction with no comb: |mean of m unit phasors| is about Rayleigh with scale
    # 1/sqrt(2m), P(R > r) = exp(-m r^2); Bonferroni over the 50 directions
    assert values[2:].max() < math.sqrt(math.log(50 / (1 - LEVEL)) / m)


def test_sampler_is_deterministic_given_the_seed():
    w = random_secret(np.random.default_rng(0), 5)
    a = sample_pancakes(np.random.default_rng(3), w, 50, 4.0, 0.05)
    b = sample_pancakes(np.random.default_rng(3), w, 50, 4.0, 0.05)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert a[0].shape == (50, 5) and a[1].dtype == np.int64


@pytest.mark.parametrize("call", [
    lambda: PancakeLaw.of(0.0, 0.1),
    lambda: PancakeLaw.of(-1.0, 0.1),
    lambda: PancakeLaw.of(float("inf"), 0.1),
    lambda: PancakeLaw.of(2.0, -0.1),
    lambda: sample_pancakes(np.random.default_rng(0), np.ones(3), 5, 2.0, 0.1),
    lambda: sample_pancakes(np.random.default_rng(0), np.ones(3) / math.sqrt(3), -1, 2.0, 0.1),
    lambda: weight_statistic(np.zeros((4, 2)), np.array([1.0, 0.0, 0.0]), 2.0),
    lambda: brute_force_secret(np.zeros((10, 4)), 4.0),
    lambda: random_secret(np.random.default_rng(0), 0),
])
def test_bad_parameters_raise_parameter_error(call):
    with pytest.raises(ParameterError):
        call()
