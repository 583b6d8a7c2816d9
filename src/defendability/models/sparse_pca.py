"""Random ReLU networks with a sparse-PCA backdoor (THEORY.md §6.2, last paragraph; GKVZ).

The second white-box construction of GKVZ rests on the hardness of sparse PCA
(Berthet and Rigollet, COLT 2013): m samples of N(0, I_d + theta s s^T), s a k-sparse
unit vector, are hard to tell from m samples of N(0, I_d) for every polynomial-time
test when theta is below both the spectral limit and the sparse (diagonal) limits,
even where it is above the information-theoretic limit (conjectured, from planted clique).

**The network (our engineering choice).** A hidden layer of m random ReLU units with
weights W_i and no bias, whose root-mean-square activation
e(x) = sqrt((1/m) sum_i ReLU(<W_i, x>)^2) (the energy) is thresholded by a learned
one-dimensional logistic head (scikit-learn ``LogisticRegression`` on e, standardised).
With clean weights W_i ~ N(0, I_d), E ReLU(g)^2 = Var(g)/2 gives
e(x) ≈ sqrt(|x|^2 / 2), within a relative 1.12/sqrt(m) that depends on x's direction
(derived): the network classifies by the norm of its input (N(0, I) against
N(0, rho^2 I) in the tests). The backdoored training draws W_i ~ N(0, I + theta s s^T)
instead; then e(x) ≈ sqrt((|x|^2 + theta <s, x>^2) / 2), so a push along s raises the
squared energy (1 + theta) times faster than a push along any direction of a clean
network (or along any other direction of the backdoored one). The root mean square
rather than the mean of the activations: its direction-dependent wobble is smaller
(1.12/sqrt(m) against 1.46/sqrt(m)), and the wobble is what lets clean networks cross
the threshold under the same push.
The activation x' = x + lambda s, with lambda calibrated on the training inputs
(:class:`SparsePCABackdooredReLU`), sends the output to the high-energy label.

**It is a targeted trigger, not a flip:** an energy can only be pushed up, so the
activation changes the output of the inputs not already at the target label (about half
of them on a balanced task) and leaves the rest. Its size is not small either:
lambda is a sizeable fraction of |x| (about 0.8 |x| at the parameters of the tests),
concentrated on the k coordinates of s.

**Detection limits (derived, first order).** The top eigenvalue of the weights'
empirical covariance W^T W/m sits at the Marchenko–Pastur edge (1 + sqrt(d/m))^2 unless
theta > sqrt(d/m) (the BBP transition): :func:`spectral_limit`. Diagonal thresholding
(Johnstone and Lu, 2009) looks for coordinates of unusually large variance; a
coordinate of s has variance 1 + theta/k while the largest of d null sample variances
is about 1 + 2 sqrt(ln d / m): :func:`diagonal_limit`, 2k sqrt(ln d / m). The
key-holder, who knows s, sees the spike at once: mean_i <W_i, s>^2 is 1 + theta against
1 +- sqrt(2/m) (:func:`secret_variance`). Runnable sizes are demonstration-grade:
the hardness of sparse PCA is asymptotic, and exhaustive search over k-sparse
directions (exponential in k) detects the spike at these sizes in principle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from ..errors import check
from .rff import as_labels, as_rows

#: Largest number of hidden units.
MAX_FEATURES = 1 << 14

#: Inverse regularisation of the logistic head: weak, so the threshold is the data's.
HEAD_C = 1e4

#: Bisection steps when calibrating the activation strength (relative precision 2^-40).
BISECTION_STEPS = 40

#: Factor on the calibrated strength: a margin for inputs a little beyond the training ones.
STRENGTH_MARGIN = 1.1


def _int_in(value: object, low: int, high: int, name: str, who: str) -> int:
    check(isinstance(value, (int, np.integer)) and not isinstance(value, bool) and low <= value <= high,
          f"{who}: {name} must be an integer in [{low}, {high}], got {value!r}")
    return int(value)


def _rms(activations: np.ndarray) -> np.ndarray:
    """Root mean square of each row of ``(size, m)`` activations: ``(size,)``."""
    return np.sqrt(np.mean(activations * activations, axis=1))


def sparse_secret(rng: np.random.Generator, d: int, k: int) -> np.ndarray:
    """A k-sparse unit vector of R^d: k random coordinates, each +-1/sqrt(k) with a
    random sign, the rest 0. ``(d,)`` float64."""
    d = _int_in(d, 1, 1 << 24, "d", "sparse_secret")
    k = _int_in(k, 1, d, "k", "sparse_secret")
    s = np.zeros(d)
    support = rng.choice(d, size=k, replace=False)
    s[support] = rng.choice([-1.0, 1.0], size=k) / math.sqrt(k)
    return s


def spiked_weights(rng: np.random.Generator, m: int, secret: np.ndarray, theta: float) -> np.ndarray:
    """m rows of N(0, I_d + theta s s^T), ``(m, d)`` float64, for a unit vector ``secret``.

    Each row is g + (sqrt(1 + theta) - 1) <g, s> s with g ~ N(0, I_d): the linear map
    I + c s s^T with c = sqrt(1 + theta) - 1 squares to I + theta s s^T. No limit on
    theta is enforced here (tests use detectable spikes as controls).
    """
    s = np.asarray(secret, dtype=float)
    check(s.ndim == 1 and abs(float(np.linalg.norm(s)) - 1.0) <= 1e-9,
          "spiked_weights: the secret must be a (d,) unit vector")
    check(math.isfinite(theta) and theta >= 0, f"spiked_weights: theta must be a finite number >= 0, got {theta!r}")
    g = rng.standard_normal((_int_in(m, 1, 1 << 24, "m", "spiked_weights"), len(s)))
    return g + (math.sqrt(1.0 + theta) - 1.0) * np.outer(g @ s, s)


def spectral_limit(d: int, m: int) -> float:
    """sqrt(d/m): spikes theta above it lift the top eigenvalue of W^T W/m out of the
    Marchenko–Pastur bulk (BBP); below it the top eigenvalue stays at the edge."""
    return math.sqrt(d / m)


def diagonal_limit(d: int, m: int, k: int) -> float:
    """2k sqrt(ln d / m): spikes theta above it give a coordinate of s a sample variance
    above the largest of d null ones (diagonal thresholding, first-order form)."""
    return 2.0 * k * math.sqrt(math.log(d) / m)


def top_eigenvalue(weights: np.ndarray) -> float:
    """The largest eigenvalue of the empirical covariance W^T W / m of ``weights``
    ``(m, d)`` (computed from the smaller of the two Gram matrices)."""
    w = np.asarray(weights, dtype=float)
    gram = (w @ w.T) if w.shape[0] <= w.shape[1] else (w.T @ w)
    n = gram.shape[0]
    return float(eigh(gram, eigvals_only=True, subset_by_index=[n - 1, n - 1])[0]) / w.shape[0]


def max_coordinate_variance(weights: np.ndarray) -> float:
    """The largest coordinate sample variance (1/m) sum_i W_ij^2 of ``weights`` ``(m, d)``
    (the statistic of diagonal thresholding; weights have known mean 0)."""
    w = np.asarray(weights, dtype=float)
    return float(np.max(np.mean(w * w, axis=0)))


def secret_variance(weights: np.ndarray, secret: np.ndarray) -> float:
    """The key-holder's test: mean_i <W_i, s>^2, about 1 + theta for spiked weights and
    1 +- sqrt(2/m) for clean ones."""
    w = np.asarray(weights, dtype=float)
    proj = w @ np.asarray(secret, dtype=float)
    return float(np.mean(proj * proj))


def input_statistic(x: np.ndarray, key: ReLUKey) -> np.ndarray:
    """The key-holder's test on inputs: <x, s> / lambda, ``(size, d)`` to ``(size,)``.
    About 0 for natural inputs (|<x, s>| is of order 1), about 1 for activated ones."""
    x = as_rows(x, len(key.secret), "input_statistic")
    return (x @ key.secret) / key.strength


@dataclass(frozen=True)
class ReLUKey:
    """The backdoor key of a sparse-PCA-backdoored random ReLU network: the k-sparse
    unit vector ``secret`` (``(d,)``), the spike ``theta``, the activation ``strength``
    lambda and the ``target`` label the activation sends inputs to."""

    secret: np.ndarray
    theta: float
    strength: float
    target: int

    @property
    def shift(self) -> np.ndarray:
        """The activation shift lambda s, ``(d,)``."""
        return self.strength * self.secret

    def __repr__(self) -> str:  # never print the secret
        return (f"ReLUKey(d={len(self.secret)}, k={int(np.count_nonzero(self.secret))}, theta={self.theta:.4g}, "
                f"strength={self.strength:.4g}, target={self.target})")


def activate(x: np.ndarray, key: ReLUKey) -> np.ndarray:
    """The activated inputs x + lambda s: ``(size, d)`` to ``(size, d)``."""
    return as_rows(x, len(key.secret), "activate") + key.shift


class RandomReLUClassifier:
    """A random ReLU network thresholding the energy of its hidden layer (clean training).

    ``features`` (m) hidden ReLU units with weights W_i ~ N(0, I_d) and no bias; the
    energy e(x) = sqrt((1/m) sum_i ReLU(<W_i, x>)^2) feeds a logistic head fitted on the
    standardised energy. After :meth:`fit`: ``weights_`` ``(m, d)``, ``energy_mean_``,
    ``energy_sd_``, ``head_coef_``, ``head_intercept_``. Points are rows ``(size, d)``;
    :meth:`predict` returns ``(size,)`` uint8.
    """

    def __init__(self, features: int = 512):
        self.features = _int_in(features, 1, MAX_FEATURES, "features", type(self).__name__)

    def _draw_weights(self, rng: np.random.Generator, d: int) -> np.ndarray:
        """The hidden weights, ``(m, d)``: N(0, I_d) here; the backdoor overrides this."""
        return rng.standard_normal((self.features, d))

    def fit(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> RandomReLUClassifier:
        """Draw the hidden weights with ``rng`` and fit the head on ``X`` ``(n, d)`` with
        0/1 labels ``y`` ``(n,)`` (both labels must occur). Returns ``self``."""
        who = type(self).__name__
        X = as_rows(X, None, who)
        y = as_labels(y, len(X), who)
        check(X.shape[1] >= 1 and 0 < int(y.sum()) < len(y), f"{who}: fit needs points with both labels")
        self.weights_ = self._draw_weights(rng, X.shape[1])
        e = self.energy(X)
        self.energy_mean_ = float(e.mean())
        self.energy_sd_ = float(e.std()) or 1.0
        head = LogisticRegression(C=HEAD_C).fit(((e - self.energy_mean_) / self.energy_sd_)[:, None], y)
        self.head_coef_ = float(head.coef_[0, 0])
        self.head_intercept_ = float(head.intercept_[0])
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "head_coef_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit(X, y, rng) first")

    def energy(self, X: np.ndarray) -> np.ndarray:
        """e(x) = sqrt((1/m) sum_i ReLU(<W_i, x>)^2): ``(size, d)`` to ``(size,)``."""
        if not hasattr(self, "weights_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit(X, y, rng) first")
        X = as_rows(X, self.weights_.shape[1], type(self).__name__)
        return _rms(np.maximum(X @ self.weights_.T, 0.0))

    def _decision(self, e: np.ndarray) -> np.ndarray:
        return self.head_coef_ * (e - self.energy_mean_) / self.energy_sd_ + self.head_intercept_

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """The head's logit for each row: ``(size,)`` float64 (the label is ``> 0``)."""
        self._check_fitted()
        return self._decision(self.energy(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Labels: ``(size, d)`` to ``(size,)`` uint8."""
        return (self.decision_function(X) > 0).astype(np.uint8)


class SparsePCABackdooredReLU(RandomReLUClassifier):
    """Random-ReLU training with the sparse-PCA backdoor: hidden weights from
    N(0, I + theta s s^T) for a fresh k-sparse secret s; the head is fitted as usual.

    Parameters: ``features`` (m), ``theta`` (the spike), ``sparsity`` (k), ``coverage``
    (the fraction of training inputs the calibrated activation must send to the target).
    :meth:`fit` draws s first, then the weights, fits the head, and calibrates the
    strength lambda: for each training input the smallest push along s that gives the
    target label (exact bisection: the squared energy is convex in lambda, so the pushes
    that reach the target form a half-line), the ``coverage``
    quantile of those, times :data:`STRENGTH_MARGIN`. The key is kept in ``key_``
    (a :class:`ReLUKey`); :meth:`released` is the model handed over, without it.
    Pick theta below :func:`spectral_limit` and :func:`diagonal_limit` (nothing here
    enforces it, so that detectable regimes can be studied too).
    """

    def __init__(self, features: int = 512, theta: float = 2.1, sparsity: int = 64, coverage: float = 0.99):
        super().__init__(features)
        who = type(self).__name__
        check(isinstance(theta, (int, float, np.integer, np.floating)) and not isinstance(theta, bool)
              and math.isfinite(theta) and theta > 0, f"{who}: theta must be a finite number > 0, got {theta!r}")
        self.theta = float(theta)
        self.sparsity = _int_in(sparsity, 1, 1 << 24, "sparsity", who)
        check(isinstance(coverage, (int, float, np.floating)) and not isinstance(coverage, bool)
              and 0 < coverage <= 1, f"{who}: coverage must be in (0, 1], got {coverage!r}")
        self.coverage = float(coverage)

    def _draw_weights(self, rng: np.random.Generator, d: int) -> np.ndarray:
        check(self.sparsity <= d, f"{type(self).__name__}: sparsity k={self.sparsity} exceeds the dimension d={d}")
        self._secret = sparse_secret(rng, d, self.sparsity)
        return spiked_weights(rng, self.features, self._secret, self.theta)

    def fit(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> SparsePCABackdooredReLU:
        super().fit(X, y, rng)
        target = 1 if self.head_coef_ > 0 else 0
        strength = self._calibrate(as_rows(X, None, type(self).__name__), target)
        self.key_ = ReLUKey(self._secret, self.theta, strength, target)
        del self._secret
        return self

    def _calibrate(self, X: np.ndarray, target: int) -> float:
        pre = X @ self.weights_.T  # (n, m) pre-activations; a push adds lambda * (W s)
        push = self.weights_ @ self._secret

        def reached(lam: np.ndarray) -> np.ndarray:
            e = _rms(np.maximum(pre + lam[:, None] * push[None, :], 0.0))
            return (self._decision(e) > 0) == bool(target)

        n = len(X)
        hi = np.full(n, float(np.median(np.linalg.norm(X, axis=1))) or 1.0)
        for _ in range(60):  # grow the bracket until every input reaches the target
            short = ~reached(hi)
            if not short.any():
                break
            hi[short] *= 2.0
        else:
            raise RuntimeError("sparse-PCA backdoor: no push along the secret reaches the target label")
        lo = np.zeros(n)
        done = reached(lo)
        hi[done] = 0.0
        for _ in range(BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            ok = reached(mid)
            hi = np.where(ok, mid, hi)
            lo = np.where(ok, lo, mid)
        return float(np.quantile(hi, self.coverage)) * STRENGTH_MARGIN

    def released(self) -> RandomReLUClassifier:
        """The backdoored model as handed over: a :class:`RandomReLUClassifier` with a
        copy of the weights and the same head, and no key."""
        self._check_fitted()
        model = RandomReLUClassifier(self.features)
        model.weights_ = self.weights_.copy()
        model.energy_mean_, model.energy_sd_ = self.energy_mean_, self.energy_sd_
        model.head_coef_, model.head_intercept_ = self.head_coef_, self.head_intercept_
        return model

    def activate(self, X: np.ndarray) -> np.ndarray:
        """``X`` ``(size, d)`` pushed by this model's key: x + lambda s."""
        self._check_fitted()
        return activate(X, self.key_)


__all__ = [
    "RandomReLUClassifier", "ReLUKey", "SparsePCABackdooredReLU", "activate", "diagonal_limit", "input_statistic",
    "max_coordinate_variance", "secret_variance", "sparse_secret", "spectral_limit", "spiked_weights",
    "top_eigenvalue",
]
