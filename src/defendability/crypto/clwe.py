"""Gaussian pancakes: the exact sampler behind the CLWE backdoor of random Fourier
features, and the key-holder's statistics (THEORY.md §6.2).

Continuous LWE (Bruna, Regev, Song and Tang, STOC 2021; GKVZ §6) hides a secret unit
vector w in R^d inside samples that look standard Gaussian: the standard Gaussian on
R^d reweighted by a periodic function of gamma<x, w>, so that gamma<x, w> sits close
to the lattice Z + 1/2 (the "half-offset pancakes": parallel slabs of width about
beta/gamma, spaced 1/gamma apart along w). Orthogonally to w the samples are exactly
N(0, I). Distinguishing such samples from N(0, I_d) without w is conjectured hard for
gamma >= 2 sqrt(d), beta at least an inverse polynomial in d, and d in the hundreds or
more; the sizes this library runs are demonstration-grade and breakable (see
:func:`brute_force_secret` and docs/rff-clwe-backdoor.md).

**The law along w (derived).** The density of z = <W, w> is
p(z) ∝ phi(z) · sum_k exp(-(gamma z - (k + 1/2))^2 / (2 beta^2)), i.e. with
sigma = beta/gamma and mu_k = (k + 1/2)/gamma,
p(z) ∝ sum_k N(z; 0, 1) · N(z; mu_k, sigma^2) (every slab's Gaussian has the same
normalising constant, so nothing else depends on k). The product of two Gaussian
densities is N(z; 0, 1) · N(z; mu, s^2) = N(mu; 0, 1 + s^2) · N(z; mu/(1 + s^2), s^2/(1 + s^2)),
so the law is the mixture

    slab k with weight  ∝ exp(-mu_k^2 / (2 (1 + sigma^2))),
    z | k  ~  N(mu_k / (1 + sigma^2),  sigma^2 / (1 + sigma^2)),

which :class:`PancakeLaw` samples exactly: first the slab, then the coordinate. From it
(derived): the residual gamma z - (k + 1/2) is N(-(k + 1/2) sigma^2/(1 + sigma^2),
beta^2/(1 + sigma^2)), a standard deviation of beta up to a factor 1/sqrt(1 + sigma^2)
and a bias below |k + 1/2| sigma^2; E cos(2 pi gamma z) =
-exp(-2 pi^2 beta^2/(1 + sigma^2)) · E_k cos(2 pi (k + 1/2) sigma^2/(1 + sigma^2)),
which is -exp(-2 pi^2 beta^2) to first order; the mean is 0 and the variance is 1 up to
a Poisson-summation error of order exp(-2 pi^2 gamma^2) (the slab weights are a
discretised N(0, 1 + sigma^2) on the shifted lattice (Z + 1/2)/gamma). The marginal is
nevertheless *not* close to N(0, 1) as a distribution when beta is small: it is a comb
of narrow peaks 1/gamma apart, at Kolmogorov distance about phi(0)/(2 gamma) ≈ 0.2/gamma
from N(0, 1). Its Fourier series, phi(z)(1 - 2 exp(-2 pi^2 beta^2) cos(2 pi gamma z) + ...),
shows it approaches N(0, 1) only as beta grows past about 1/2. The secret is hidden
because nobody knows *which* direction carries the comb, not because the comb is absent.

**Truncation.** Slab weights decay like exp(-mu_k^2/2); slabs whose weight, relative to
the heaviest, is below 1e-300 (:data:`MIN_WEIGHT`) are dropped. They lie beyond
|mu_k| ≈ 37 sqrt(1 + sigma^2) and their total relative mass is below 1e-298, far under
float64 resolution: no run of this library could ever draw one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import ndtr

from ..errors import check

#: Relative weight below which a slab is dropped from the exact sampler.
MIN_WEIGHT = 1e-300

#: Largest gamma the sampler accepts: the slab table has about 74 gamma entries.
MAX_GAMMA = 1e4

#: Tolerance on the length of a secret that must be a unit vector.
UNIT_TOL = 1e-9

#: Dimensions :func:`brute_force_secret` scans (its grid grows like gamma^(d-1)).
SCAN_DIMENSIONS = (2, 3)

#: Grid step of the brute-force scan, in units of 1/gamma radians. At angle a from w the
#: periodogram falls to about exp(-2 pi^2 gamma^2 a^2); the nearest grid point is within
#: about half a step, where it keeps more than 0.9 of its peak.
SCAN_STEP = 0.1


def _check_gamma_beta(gamma: float, beta: float, who: str) -> tuple[float, float]:
    check(isinstance(gamma, (int, float, np.integer, np.floating)) and not isinstance(gamma, bool)
          and math.isfinite(gamma) and 0 < gamma <= MAX_GAMMA,
          f"{who}: gamma must be a number in (0, {MAX_GAMMA:g}], got {gamma!r}")
    check(isinstance(beta, (int, float, np.integer, np.floating)) and not isinstance(beta, bool)
          and math.isfinite(beta) and beta >= 0,
          f"{who}: beta must be a finite number >= 0, got {beta!r}")
    return float(gamma), float(beta)


def as_unit(secret: np.ndarray, who: str = "clwe") -> np.ndarray:
    """``secret`` as a float ``(d,)`` unit vector (``ParameterError`` if it is not one)."""
    w = np.asarray(secret, dtype=float)
    check(w.ndim == 1 and len(w) >= 1, f"{who}: the secret must be a (d,) vector, got shape {w.shape}")
    length = float(np.linalg.norm(w))
    check(abs(length - 1.0) <= UNIT_TOL, f"{who}: the secret must be a unit vector, got length {length:.6g}")
    return w


def random_secret(rng: np.random.Generator, d: int) -> np.ndarray:
    """A uniformly random unit vector of R^d, ``(d,)`` float64 (a normalised Gaussian)."""
    check(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1,
          f"clwe: d must be an integer >= 1, got {d!r}")
    while True:
        g = rng.standard_normal(int(d))
        length = float(np.linalg.norm(g))
        if length > 0.0:  # a zero draw has probability 0; redraw rather than divide by it
            return g / length


@dataclass(frozen=True)
class PancakeLaw:
    """The exact law of z = <W, w> under the half-offset Gaussian pancakes.

    ``slabs`` (``(K,)`` int64): the kept slab indices k; ``probs`` (``(K,)``): their
    probabilities (summing to 1); ``means`` (``(K,)``): mu_k/(1 + sigma^2); ``sd``: the
    common within-slab standard deviation sigma/sqrt(1 + sigma^2), sigma = beta/gamma.
    Build it with :meth:`of`.
    """

    gamma: float
    beta: float
    slabs: np.ndarray = field(repr=False)
    probs: np.ndarray = field(repr=False)
    means: np.ndarray = field(repr=False)
    sd: float

    @classmethod
    def of(cls, gamma: float, beta: float) -> PancakeLaw:
        """The law for ``gamma`` > 0 and ``beta`` >= 0, slabs below :data:`MIN_WEIGHT` dropped."""
        gamma, beta = _check_gamma_beta(gamma, beta, "pancakes")
        s2 = (beta / gamma) ** 2
        spread = 2.0 * (1.0 + s2)
        # the heaviest slabs are k = 0 and k = -1 (mu = +-1/(2 gamma)); keep every k with
        # (mu_k^2 - mu_0^2) / spread <= ln(1/MIN_WEIGHT)
        mu0 = 0.5 / gamma
        reach = math.sqrt(mu0 * mu0 + spread * math.log(1.0 / MIN_WEIGHT))
        top = math.floor(gamma * reach - 0.5)
        slabs = np.arange(-top - 1, top + 1, dtype=np.int64)
        mu = (slabs + 0.5) / gamma
        log_w = -(mu * mu - mu0 * mu0) / spread
        keep = log_w >= math.log(MIN_WEIGHT)
        slabs, mu, log_w = slabs[keep], mu[keep], log_w[keep]
        probs = np.exp(log_w)
        probs /= probs.sum()
        return cls(gamma, beta, slabs, probs, mu / (1.0 + s2), math.sqrt(s2 / (1.0 + s2)))

    def sample(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        """``size`` draws: ``(z, k)``, the coordinates ``(size,)`` float64 and their slab
        indices ``(size,)`` int64. The slab first, then the coordinate given the slab."""
        index = rng.choice(len(self.slabs), size=int(size), p=self.probs)
        z = self.means[index] + self.sd * rng.standard_normal(int(size))
        return z, self.slabs[index]

    def cdf(self, z: np.ndarray) -> np.ndarray:
        """The exact CDF of the mixture at each entry of ``z`` (same shape)."""
        z = np.asarray(z, dtype=float)
        flat = z.reshape(-1, 1)
        if self.sd == 0.0:  # beta = 0: point masses at the slab means
            inside = (flat >= self.means[None, :]).astype(float)
        else:
            inside = ndtr((flat - self.means[None, :]) / self.sd)
        return (inside @ self.probs).reshape(z.shape)

    def mean(self) -> float:
        """E z (0 by symmetry, up to rounding)."""
        return float(self.probs @ self.means)

    def variance(self) -> float:
        """Var z: 1 up to a Poisson-summation error of order exp(-2 pi^2 gamma^2)."""
        second = float(self.probs @ (self.means ** 2)) + self.sd ** 2
        return second - self.mean() ** 2

    def expected_cos(self) -> float:
        """E cos(2 pi gamma z), exactly (to float precision): the mean of the key-holder's
        weight statistic, ≈ -exp(-2 pi^2 beta^2)."""
        phase = 2.0 * math.pi * self.gamma * self.means
        damping = math.exp(-2.0 * (math.pi * self.gamma * self.sd) ** 2)
        return float(self.probs @ np.cos(phase)) * damping


def sample_pancakes(rng: np.random.Generator, secret: np.ndarray, size: int, gamma: float,
                    beta: float) -> tuple[np.ndarray, np.ndarray]:
    """``size`` rows from the half-offset Gaussian pancakes with secret ``secret``.

    Returns ``(weights, slabs)``: ``weights`` ``(size, d)`` float64, whose coordinate
    along the secret follows :class:`PancakeLaw` and whose part orthogonal to it is the
    projection of an independent N(0, I_d) draw; ``slabs`` ``(size,)`` int64, the slab
    index k of each row (gamma<W_i, w> ≈ k + 1/2). Draws the slabs and coordinates
    first, then the Gaussian ``(size, d)`` block.
    """
    w = as_unit(secret, "pancakes")
    check(isinstance(size, (int, np.integer)) and not isinstance(size, bool) and size >= 0,
          f"pancakes: size must be an integer >= 0, got {size!r}")
    z, slabs = PancakeLaw.of(gamma, beta).sample(rng, int(size))
    g = rng.standard_normal((int(size), len(w)))
    # projecting a standard Gaussian onto w's complement gives exactly N(0, I - w w^T)
    weights = g - np.outer(g @ w, w) + np.outer(z, w)
    return weights, slabs


def weight_statistic(weights: np.ndarray, secret: np.ndarray, gamma: float) -> float:
    """The key-holder's test on weights: mean_i cos(2 pi gamma <W_i, w>).

    ``weights``: ``(m, d)``. Pancake weights give about -exp(-2 pi^2 beta^2)
    (:meth:`PancakeLaw.expected_cos` exactly); clean N(0, I) weights give
    exp(-2 pi^2 gamma^2) ≈ 0 with standard deviation about 1/sqrt(2m)
    (:func:`clean_weight_statistic_sd`).
    """
    w = as_unit(secret, "weight_statistic")
    weights = np.asarray(weights, dtype=float)
    check(weights.ndim == 2 and weights.shape[1] == len(w) and len(weights) >= 1,
          f"weight_statistic: weights must be (m, {len(w)}) with m >= 1, got {weights.shape}")
    return float(np.mean(np.cos(2.0 * math.pi * gamma * (weights @ w))))


def clean_weight_statistic_sd(m: int) -> float:
    """Standard deviation of :func:`weight_statistic` on m clean weights: 1/sqrt(2m)
    (Var cos(2 pi gamma g) = 1/2 - O(exp(-2 pi^2 gamma^2)) for g ~ N(0, 1))."""
    return 1.0 / math.sqrt(2.0 * m)


def input_statistic(x: np.ndarray, secret: np.ndarray, gamma: float, scale: float) -> np.ndarray:
    """The key-holder's test on inputs: scale <x, w> / gamma, one per row of ``x``
    (``(size, d)`` to ``(size,)``).

    It counts the activation shifts (gamma/scale) w an input carries: about 0 for a
    natural input (|<x, w>| is a few units while gamma/scale is hundreds), about 1 for
    an activated one. Higher = more suspicious; REJECT above 1/2.
    """
    w = as_unit(secret, "input_statistic")
    x = np.asarray(x, dtype=float)
    check(x.ndim == 2 and x.shape[1] == len(w), f"input_statistic: x must be (size, {len(w)}), got {x.shape}")
    check(scale > 0 and gamma > 0, f"input_statistic: gamma and scale must be > 0, got {gamma!r}, {scale!r}")
    return scale * (x @ w) / gamma


def periodogram(weights: np.ndarray, gamma: float, directions: np.ndarray) -> np.ndarray:
    """|mean_i exp(2 pi i gamma <W_i, u>)| for each candidate direction u.

    ``weights`` ``(m, d)``, ``directions`` ``(n, d)`` unit rows, result ``(n,)``. Near 1
    along a pancake secret (for small beta, whatever the offset of the slabs), about
    sqrt(pi/(4m)) along a direction that carries no comb.
    """
    weights = np.asarray(weights, dtype=float)
    directions = np.atleast_2d(np.asarray(directions, dtype=float))
    phase = 2.0 * math.pi * gamma * (directions @ weights.T)
    return np.hypot(np.cos(phase).mean(axis=1), np.sin(phase).mean(axis=1))


def _sphere_grid(d: int, step: float) -> np.ndarray:
    """Unit directions covering a half-sphere of R^d (d = 2 or 3) with spacing ~``step``."""
    if d == 2:
        angles = np.arange(0.0, math.pi, step)
        return np.column_stack([np.cos(angles), np.sin(angles)])
    # a Fibonacci lattice on the upper half-sphere: area 2 pi, one point per step^2
    n = math.ceil(2.0 * math.pi / step ** 2)
    i = np.arange(n) + 0.5
    height = i / n
    radius = np.sqrt(1.0 - height ** 2)
    turn = math.pi * (3.0 - math.sqrt(5.0)) * i
    return np.column_stack([radius * np.cos(turn), radius * np.sin(turn), height])


def brute_force_secret(weights: np.ndarray, gamma: float) -> tuple[np.ndarray, float]:
    """Recover the secret from pancake weights at toy dimension (d = 2 or 3) by scanning.

    Scores every direction of a half-sphere grid (spacing :data:`SCAN_STEP`/gamma) by
    :func:`periodogram`, then refines the best one with a local optimiser (scipy).
    Returns ``(direction, score)``: a ``(d,)`` unit vector (w up to sign) and its
    periodogram value. gamma is a public parameter of the construction. The grid has
    about (gamma/SCAN_STEP)^(d-1) points, which is why this only runs at d <= 3; it shows
    that instances small enough to run are breakable, not how lattice attacks scale.
    """
    weights = np.asarray(weights, dtype=float)
    check(weights.ndim == 2 and weights.shape[1] in SCAN_DIMENSIONS and len(weights) >= 1,
          f"brute_force_secret: weights must be (m, d) with d in {SCAN_DIMENSIONS}, got {weights.shape}")
    gamma, _ = _check_gamma_beta(gamma, 0.0, "brute_force_secret")
    d = weights.shape[1]
    grid = _sphere_grid(d, SCAN_STEP / gamma)
    scores = np.concatenate([periodogram(weights, gamma, grid[i:i + 4096]) for i in range(0, len(grid), 4096)])
    best = grid[int(np.argmax(scores))]
    if d == 2:
        start = math.atan2(best[1], best[0])
        res = minimize_scalar(lambda a: -periodogram(weights, gamma, [[math.cos(a), math.sin(a)]])[0],
                              bounds=(start - SCAN_STEP / gamma, start + SCAN_STEP / gamma), method="bounded")
        u = np.array([math.cos(res.x), math.sin(res.x)])
    else:
        def point(p: np.ndarray) -> np.ndarray:
            return np.array([math.sin(p[0]) * math.cos(p[1]), math.sin(p[0]) * math.sin(p[1]), math.cos(p[0])])

        start = np.array([math.acos(min(1.0, max(-1.0, best[2]))), math.atan2(best[1], best[0])])
        res = minimize(lambda p: -periodogram(weights, gamma, [point(p)])[0], start, method="Nelder-Mead",
                       options={"xatol": 1e-6, "fatol": 1e-9, "initial_simplex":
                                [start, start + [SCAN_STEP / gamma, 0], start + [0, SCAN_STEP / gamma]]})
        u = point(res.x)
    u /= np.linalg.norm(u)
    return u, float(periodogram(weights, gamma, [u])[0])


__all__ = [
    "MIN_WEIGHT", "PancakeLaw", "as_unit", "brute_force_secret", "clean_weight_statistic_sd",
    "input_statistic", "periodogram", "random_secret", "sample_pancakes", "weight_statistic",
]
