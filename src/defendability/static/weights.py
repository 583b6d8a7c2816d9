"""Static distinguishers on a model's first-layer weights, run without the key
(THEORY.md §6: the *static* setting of GKVZ's undetectability theorems).

Both white-box constructions of :mod:`defendability.models` hand over a weight matrix
W ``(m, d)`` (one row per random feature or hidden unit) whose clean law is known to
everybody: every entry i.i.d. N(0, 1). A defender who reads the weights, but does not
know the secret direction, can test them against that law. Each test here returns an
:class:`Evidence`: a ``score`` (higher = more suspicious, for AUROC) and a ``p_value``
computed from the null law "W has i.i.d. N(0, 1) entries", stated and derived in the
test's docstring. Constants taken from the literature rather than derived here are
marked *(cited)*; those derived here are marked *(derived)*.

What each test can see (derived; measured in docs/static-detection.md):

- the CLWE pancakes (:mod:`defendability.crypto.clwe`) change the law only along the
  secret w: orthogonally it is exactly N(0, I), and along w the comb has mean 0 and
  variance 1 up to exp(-2 pi^2 gamma^2). Coordinates see w only through the weights
  |w_j| ~ 1/sqrt(d), which blur the comb (spacing 1/gamma) by an independent Gaussian
  of variance 1 - w_j^2; row norms see it only through the law of z^2 = <W_i, w>^2.
  At the default gamma = 2 sqrt(d) none of the tests below has power; at gamma well
  below 1 the slabs sit at +-1/(2 gamma), z^2 >= 1/(4 gamma^2) > 1, and the energy and
  norm tests see it;
- the sparse-PCA spike N(0, I + theta s s^T) adds theta to E|W_i|^2, theta/k to the
  variance of each of the k coordinates of s, and lifts the top eigenvalue out of the
  Marchenko–Pastur bulk once theta > sqrt(d/m) (BBP). The top-eigenvalue test detects
  above :func:`~defendability.models.sparse_pca.spectral_limit`, the diagonal test above
  :func:`~defendability.models.sparse_pca.diagonal_limit`, the energy test once theta is
  a few times sqrt(2d/m) (its null standard deviation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.special import ndtr

from ..errors import check
from ..models.sparse_pca import max_coordinate_variance, top_eigenvalue

#: Shape, scale and shift of the gamma law that approximates the Tracy–Widom law TW1:
#: TW1 ≈ Gamma(k, theta) - alpha (cited: Chiani, J. Multivariate Anal. 124, 2014, table 1;
#: it matches TW1's mean -1.2065, variance 1.6078 and skewness 0.2935).
TW1_GAMMA_SHAPE = 46.446
TW1_GAMMA_SCALE = 0.186054
TW1_GAMMA_SHIFT = 9.84801

@dataclass(frozen=True)
class Evidence:
    """The outcome of a static test: ``score`` (higher = more suspicious; the input of
    an AUROC) and ``p_value`` (the probability, under the test's null law, of a score
    at least as large; small = reject "clean")."""

    score: float
    p_value: float


def as_weights(weights: np.ndarray, who: str = "static") -> np.ndarray:
    """``weights`` as a finite float64 ``(m, d)`` array with m, d >= 1 (``ParameterError`` otherwise)."""
    w = np.asarray(weights, dtype=float)
    check(w.ndim == 2 and w.shape[0] >= 1 and w.shape[1] >= 1,
          f"{who}: weights must have shape (m, d) with m, d >= 1, got {w.shape}")
    check(bool(np.all(np.isfinite(w))), f"{who}: weights must be finite")
    return w


def ks_statistics(values: np.ndarray, cdf) -> np.ndarray:
    """The two-sided one-sample Kolmogorov–Smirnov statistic of every column of
    ``values`` ``(n, c)`` against the continuous ``cdf``: ``(c,)``.

    The columns are sorted together (one numpy call instead of c calls of
    ``scipy.stats.kstest``); D = max_i max(i/n - F(x_(i)), F(x_(i)) - (i-1)/n). Under the
    null each D has the exact law ``scipy.stats.kstwo(n)``.
    """
    x = np.sort(np.asarray(values, dtype=float), axis=0)
    n = x.shape[0]
    f = cdf(x)
    i = np.arange(1, n + 1, dtype=float)[:, None]
    return np.maximum(np.max(i / n - f, axis=0), np.max(f - (i - 1.0) / n, axis=0))


def coordinate_ks_test(weights: np.ndarray) -> Evidence:
    """KS test of each weight coordinate (column) against N(0, 1); the largest of the d
    statistics against its null law.

    Null law (derived): the d columns are independent, each m i.i.d. N(0, 1) draws, so
    the column statistics D_j are independent with the exact ``kstwo(m)`` law and
    P(max_j D_j <= t) = K_m(t)^d (K_m its CDF). ``score`` is max_j D_j, ``p_value`` is
    1 - K_m(score)^d (computed as -expm1(d log K_m) to keep small tails). The largest
    statistic rather than Fisher's sum: one exact tail evaluation instead of d (the
    d = 4096 of the sparse-PCA networks), and it is the sharper test when one coordinate
    carries the anomaly. Detects a change in the law of single coordinates: not the CLWE
    comb at the default gamma (each coordinate carries w_j z + sqrt(1 - w_j^2) g, a comb of
    spacing 1/(gamma |w_j|) blurred by a Gaussian much wider than it).
    """
    w = as_weights(weights, "coordinate_ks_test")
    m, d = w.shape
    top = float(np.max(ks_statistics(w, ndtr)))
    return Evidence(top, _max_tail(float(stats.kstwo.logcdf(top, m)), d))


def _max_tail(log_cdf: float, count: int) -> float:
    """P(max of ``count`` independent draws >= t) from log P(one draw <= t)."""
    return min(1.0, max(0.0, -math.expm1(count * log_cdf)))


def norm_ks_test(weights: np.ndarray) -> Evidence:
    """KS test of the squared row norms |W_i|^2 against chi^2 with d degrees of freedom.

    Null law (derived): a row of d i.i.d. N(0, 1) entries has |W_i|^2 ~ chi^2_d, and the m
    rows are independent, so the KS statistic D has the exact ``kstwo`` law for m draws.
    ``score`` is D, ``p_value`` its exact two-sided p-value. Detects any change in the
    law of the norms (pancakes: |W_i|^2 = z_i^2 + chi^2_{d-1} with z_i on the comb).
    """
    w = as_weights(weights, "norm_ks_test")
    d = float(ks_statistics(np.sum(w * w, axis=1)[:, None], stats.chi2(w.shape[1]).cdf)[0])
    return Evidence(d, float(stats.kstwo.sf(d, w.shape[0])))


def energy_test(weights: np.ndarray) -> Evidence:
    """The total energy S = sum_ij W_ij^2 against its null law chi^2 with m d degrees of
    freedom (one-sided: a planted direction of extra variance raises it).

    Null law (derived): S is a sum of m d squared independent N(0, 1) draws, exactly
    chi^2_{md}. ``score`` is (S - m d)/sqrt(2 m d) (the standardised excess), ``p_value``
    the upper tail P(chi^2_{md} >= S). A sparse-PCA spike adds m theta to E S, i.e.
    theta sqrt(m/(2d)) null standard deviations (derived): 0.525 at the library's default
    theta = 2.1, d = 4096, m = 512, an expected AUROC of Phi(0.525/sqrt 2) ≈ 0.645 between
    single clean and backdoored models (derived, Gaussian approximation).
    """
    w = as_weights(weights, "energy_test")
    dof = w.size
    s = float(np.sum(w * w))
    return Evidence((s - dof) / math.sqrt(2.0 * dof), float(stats.chi2.sf(s, dof)))


def tracy_widom_location(m: int, d: int) -> tuple[float, float]:
    """Centering mu and scaling sigma of the largest eigenvalue of W^T W for W ``(m, d)``
    with i.i.d. N(0, 1) entries: (l - mu)/sigma converges to TW1, with
    mu = (sqrt(m - 1) + sqrt(d))^2 and sigma = (sqrt(m - 1) + sqrt(d)) (1/sqrt(m - 1) +
    1/sqrt(d))^(1/3) (cited: Johnstone, Ann. Statist. 29, 2001, Theorem 1.1; the m - 1
    is his finite-size correction). Divided by m, mu is the Marchenko–Pastur edge
    (1 + sqrt(d/m))^2 to first order."""
    check(m >= 2 and d >= 1, f"tracy_widom_location: needs m >= 2 and d >= 1, got m={m}, d={d}")
    a, b = math.sqrt(m - 1.0), math.sqrt(float(d))
    return (a + b) ** 2, (a + b) * (1.0 / a + 1.0 / b) ** (1.0 / 3.0)


def tracy_widom_sf(s: float) -> float:
    """P(TW1 >= s) from the shifted-gamma approximation TW1 ≈ Gamma(k, theta) - alpha
    (:data:`TW1_GAMMA_SHAPE` and companions, cited); exactly 1 below the gamma's support."""
    return float(stats.gamma.sf(s + TW1_GAMMA_SHIFT, TW1_GAMMA_SHAPE, scale=TW1_GAMMA_SCALE))


def top_eigenvalue_test(weights: np.ndarray) -> Evidence:
    """The largest eigenvalue of W^T W against the Marchenko–Pastur edge, on the
    Tracy–Widom scale (the spectral test of sparse PCA; blind to sparsity).

    Null law (cited): for W ``(m, d)`` with i.i.d. N(0, 1) entries, (l - mu)/sigma is
    approximately TW1 (:func:`tracy_widom_location`, Johnstone 2001), whose upper tail
    comes from the gamma approximation of :func:`tracy_widom_sf` (Chiani 2014).
    ``score`` is (l - mu)/sigma, ``p_value`` its TW1 tail. Below the BBP threshold
    theta = sqrt(d/m) a spike leaves the limit law unchanged; above it l separates from
    the edge by order m theta-dependent amounts, many sigma at these sizes.
    """
    w = as_weights(weights, "top_eigenvalue_test")
    m, d = w.shape
    check(m >= 2, f"top_eigenvalue_test: needs m >= 2 rows, got {m}")
    mu, sigma = tracy_widom_location(m, d)
    s = (top_eigenvalue(w) * m - mu) / sigma
    return Evidence(float(s), tracy_widom_sf(s))


def diagonal_test(weights: np.ndarray) -> Evidence:
    """Diagonal thresholding (Johnstone and Lu, 2009) as a test: the largest coordinate
    sample variance v_max = max_j (1/m) sum_i W_ij^2 against its null law.

    Null law (derived): m v_j ~ chi^2_m, independently over the d coordinates, so
    P(v_max <= t) = F_m(m t)^d with F_m the chi^2_m CDF; ``p_value`` is
    1 - F_m(m v_max)^d (computed as -expm1(d log F_m) to keep small tails), ``score`` is
    v_max. A spike on a k-sparse secret raises k coordinate variances by theta/k each;
    detectable above about 2k sqrt(ln d / m)
    (:func:`~defendability.models.sparse_pca.diagonal_limit`).
    """
    w = as_weights(weights, "diagonal_test")
    m, d = w.shape
    v = max_coordinate_variance(w)
    return Evidence(v, _max_tail(float(stats.chi2.logcdf(m * v, m)), d))


#: Every weight test by name, in the order of the report.
WEIGHT_TESTS = {
    "coordinate-ks": coordinate_ks_test,
    "norm-ks": norm_ks_test,
    "energy": energy_test,
    "top-eigenvalue": top_eigenvalue_test,
    "diagonal": diagonal_test,
}


def weight_tests(weights: np.ndarray) -> dict[str, Evidence]:
    """Every test of :data:`WEIGHT_TESTS` on ``weights`` ``(m, d)``: ``{name: Evidence}``."""
    w = as_weights(weights, "weight_tests")
    return {name: test(w) for name, test in WEIGHT_TESTS.items()}


__all__ = [
    "WEIGHT_TESTS", "Evidence", "as_weights", "coordinate_ks_test", "diagonal_test", "energy_test", "ks_statistics",
    "norm_ks_test", "top_eigenvalue_test", "tracy_widom_location", "tracy_widom_sf", "weight_tests",
]
