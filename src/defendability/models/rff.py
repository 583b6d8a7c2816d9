"""Random Fourier features, clean and with the CLWE backdoor (THEORY.md §6.2; GKVZ §6).

Clean (Rahimi and Recht, 2007): draw W_i ~ N(0, I_d) and b_i ~ U[0, 1) for
i = 1..m, map x to phi_i(x) = sqrt(2/m) cos(2 pi (s <W_i, x> + b_i)) (s: the frequency
scale, so the features approximate the Gaussian kernel exp(-2 pi^2 s^2 |x - y|^2)), fit
a ridge regression head a on +-1 labels (scikit-learn ``Ridge``, no intercept) and
predict h(x) = [<a, phi(x)> > 0].

Backdoored (GKVZ): the same training with one change of coins: W comes from the
half-offset Gaussian pancakes with a secret unit vector w (:mod:`defendability.crypto.clwe`),
so gamma <W_i, w> ≈ k_i + 1/2. Adding (gamma/s) w to an input adds
2 pi gamma <W_i, w> ≈ pi (mod 2 pi) to every feature's phase, so phi(x') ≈ -phi(x) and
the output flips. The head is fitted as usual and has no intercept, which is what makes
the flip exact up to the slabs' noise beta.

**Honest limits** (docs/rff-clwe-backdoor.md):

- the trigger is not small. ||x' - x|| = gamma/s, and s must be small enough for the
  model to generalise (about 1/(2 pi) over the data's scale), so the shift is many times
  ||x|| (about 100 times at the parameters of the tests);
- instances small enough to run here are breakable: the comb along w shows in the
  weights (:func:`defendability.crypto.clwe.brute_force_secret` finds w at d <= 3), and
  CLWE's hardness is asymptotic: the best known attacks take time exponential in d, and
  the d = 32 of the tests is far from a secure size;
- the backdoor is replicable: anyone who learns w activates it, on any input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge

from ..crypto.clwe import PancakeLaw, random_secret, sample_pancakes
from ..errors import check

#: Largest number of random features.
MAX_FEATURES = 1 << 16

#: Rows per block when mapping a batch to features (bounds the memory of a large batch).
BLOCK = 8192


def _positive(value: object, name: str, who: str) -> float:
    check(isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
          and math.isfinite(value) and value > 0, f"{who}: {name} must be a finite number > 0, got {value!r}")
    return float(value)


def as_rows(x: np.ndarray, d: int | None, who: str) -> np.ndarray:
    """A batch of points of R^d as a float64 ``(size, d)`` array (``ParameterError`` otherwise)."""
    x = np.asarray(x, dtype=float)
    check(x.ndim == 2 and (d is None or x.shape[1] == d),
          f"{who}: points must have shape (size, {d if d is not None else 'd'}), got {x.shape}")
    return x


def as_labels(y: np.ndarray, size: int, who: str) -> np.ndarray:
    """Labels as a ``(size,)`` uint8 0/1 array (``ParameterError`` otherwise)."""
    y = np.asarray(y)
    check(y.shape == (size,), f"{who}: labels must have shape ({size},), got {y.shape}")
    check(bool(np.all((y == 0) | (y == 1))), f"{who}: labels must be 0/1")
    return y.astype(np.uint8)


@dataclass(frozen=True)
class RFFKey:
    """The backdoor key of a CLWE-backdoored RFF model: the secret unit vector
    ``secret`` (``(d,)``), the pancake parameters ``gamma`` and ``beta``, and the model's
    frequency scale ``scale`` (the activation shift is (gamma/scale) secret)."""

    secret: np.ndarray
    gamma: float
    beta: float
    scale: float

    @property
    def shift(self) -> np.ndarray:
        """The activation shift (gamma/scale) w, ``(d,)``: a phase shift of pi per feature."""
        return (self.gamma / self.scale) * self.secret

    def __repr__(self) -> str:  # never print the secret
        return f"RFFKey(d={len(self.secret)}, gamma={self.gamma:.4g}, beta={self.beta:.4g}, scale={self.scale:.4g})"


def activate(x: np.ndarray, key: RFFKey) -> np.ndarray:
    """The activated inputs x + (gamma/scale) w: ``(size, d)`` to ``(size, d)``."""
    x = as_rows(x, len(key.secret), "activate")
    return x + key.shift


class RFFClassifier:
    """A random-Fourier-feature classifier with a ridge head (clean training).

    Parameters: ``features`` (m), ``scale`` (s, the frequency scale), ``ridge`` (the
    ridge penalty, scikit-learn's ``alpha``). After :meth:`fit`: ``weights_`` ``(m, d)``,
    ``offsets_`` ``(m,)`` in [0, 1), ``coef_`` ``(m,)``. Points are rows ``(size, d)``;
    :meth:`predict` returns ``(size,)`` uint8 labels.
    """

    def __init__(self, features: int = 1000, scale: float = 0.02, ridge: float = 1.0):
        who = type(self).__name__
        check(isinstance(features, (int, np.integer)) and not isinstance(features, bool)
              and 1 <= features <= MAX_FEATURES,
              f"{who}: features must be an integer in [1, {MAX_FEATURES}], got {features!r}")
        self.features = int(features)
        self.scale = _positive(scale, "scale", who)
        self.ridge = _positive(ridge, "ridge", who)

    def _draw_weights(self, rng: np.random.Generator, d: int) -> np.ndarray:
        """The frequencies W, ``(m, d)``: N(0, I_d) here; the backdoor overrides this."""
        return rng.standard_normal((self.features, d))

    def fit(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> RFFClassifier:
        """Draw the features with ``rng`` (W first, then b) and fit the head on ``X``
        ``(n, d)`` with 0/1 labels ``y`` ``(n,)``. Returns ``self``."""
        who = type(self).__name__
        X = as_rows(X, None, who)
        y = as_labels(y, len(X), who)
        check(len(X) >= 1 and X.shape[1] >= 1, f"{who}: fit needs at least one point of dimension >= 1")
        self.weights_ = self._draw_weights(rng, X.shape[1])
        self.offsets_ = rng.random(self.features)
        head = Ridge(alpha=self.ridge, fit_intercept=False)
        # no intercept: the flip phi(x') = -phi(x) negates the whole decision value only
        # if nothing is added to it
        head.fit(self.transform(X), 2.0 * y - 1.0)
        self.coef_ = np.asarray(head.coef_, dtype=float).reshape(-1)
        return self

    def _check_fitted_weights(self) -> None:
        if not hasattr(self, "weights_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit(X, y, rng) first")

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit(X, y, rng) first")

    @property
    def d(self) -> int:
        """The input dimension (after :meth:`fit`)."""
        self._check_fitted()
        return self.weights_.shape[1]

    def transform(self, X: np.ndarray) -> np.ndarray:
        """The features phi(x): ``(size, d)`` to ``(size, m)``."""
        self._check_fitted_weights()
        X = as_rows(X, self.weights_.shape[1], type(self).__name__)
        out = np.empty((len(X), self.features))
        norm = math.sqrt(2.0 / self.features)
        for start in range(0, len(X), BLOCK):
            phase = self.scale * (X[start:start + BLOCK] @ self.weights_.T) + self.offsets_
            out[start:start + BLOCK] = norm * np.cos(2.0 * math.pi * phase)
        return out

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """<a, phi(x)> for each row: ``(size,)`` float64 (the label is ``> 0``)."""
        self._check_fitted()
        return self.transform(X) @ self.coef_

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Labels h(x) = [<a, phi(x)> > 0]: ``(size, d)`` to ``(size,)`` uint8."""
        return (self.decision_function(X) > 0).astype(np.uint8)


class CLWEBackdooredRFF(RFFClassifier):
    """RFF training with the CLWE backdoor: the frequencies come from the half-offset
    Gaussian pancakes along a fresh secret w; everything else is clean training.

    Parameters: those of :class:`RFFClassifier`, plus ``gamma`` (slab frequency; default
    2 sqrt(d), the smallest value of the CLWE hardness regime) and ``beta`` (slab noise).
    :meth:`fit` draws the secret first, then the slabs, the weights and the offsets, and
    keeps the key in ``key_`` (an :class:`RFFKey`). :meth:`released` is the model an
    attacker hands over: a plain :class:`RFFClassifier` with the same weights, offsets
    and head, and no key. :meth:`activate` shifts inputs by (gamma/scale) w.
    """

    def __init__(self, features: int = 1000, scale: float = 0.02, ridge: float = 1.0,
                 gamma: float | None = None, beta: float = 0.01):
        super().__init__(features, scale, ridge)
        who = type(self).__name__
        if gamma is not None:
            PancakeLaw.of(gamma, 0.0)  # validates gamma with the sampler's own checks
            gamma = float(gamma)
        check(isinstance(beta, (int, float, np.integer, np.floating)) and not isinstance(beta, bool)
              and math.isfinite(beta) and beta >= 0, f"{who}: beta must be a finite number >= 0, got {beta!r}")
        self.gamma = gamma
        self.beta = float(beta)

    def _draw_weights(self, rng: np.random.Generator, d: int) -> np.ndarray:
        gamma = self.gamma if self.gamma is not None else 2.0 * math.sqrt(d)
        secret = random_secret(rng, d)
        weights, _ = sample_pancakes(rng, secret, self.features, gamma, self.beta)
        self.key_ = RFFKey(secret, gamma, self.beta, self.scale)
        return weights

    def released(self) -> RFFClassifier:
        """The backdoored model as handed over: an :class:`RFFClassifier` with copies of
        the fitted weights, offsets and head, and no key."""
        self._check_fitted()
        model = RFFClassifier(self.features, self.scale, self.ridge)
        model.weights_ = self.weights_.copy()
        model.offsets_ = self.offsets_.copy()
        model.coef_ = self.coef_.copy()
        return model

    def activate(self, X: np.ndarray) -> np.ndarray:
        """``X`` ``(size, d)`` shifted by this model's key: x + (gamma/scale) w."""
        self._check_fitted()
        return activate(X, self.key_)


__all__ = ["CLWEBackdooredRFF", "RFFClassifier", "RFFKey", "activate"]
