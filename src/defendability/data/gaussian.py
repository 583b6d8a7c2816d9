"""Synthetic Gaussian tasks, generated offline from a seed.

Both tasks put the signal along one fixed direction, u = (1, ..., 1) / sqrt(d), so that
every coordinate carries some of it and the Bayes-optimal classifier is the halfspace
[u.x > 0] (a member of ``halfspaces:d=...``):

- ``two_gaussians``: y ~ Bernoulli(1/2), x ~ N((2y - 1) * (separation / 2) * u, I_d).
  The Bayes error is Phi(-separation / 2).
- ``linear_threshold``: x ~ N(0, I_d) conditioned on |u.x| >= margin, y = [u.x > 0]
  (noiseless and linearly separable; with margin > 0, every point is at distance at
  least ``margin`` from the boundary, so the task is smooth at any noise scale well
  below the margin, THEORY.md §6.3).

Points are float64 rows ``(size, d)``, labels uint8 ``(size,)``; train and test are
drawn from one ``numpy.random.default_rng(seed)`` stream, train first.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import check
from .dataset import Dataset

#: Largest dimension offered (matches the ``halfspaces`` class's limit).
MAX_D = 4096


def direction(d: int) -> np.ndarray:
    """The signal direction u = (1, ..., 1) / sqrt(d), shape ``(d,)``."""
    return np.full(d, 1.0 / math.sqrt(d))


def _check_sizes(task: str, d: int, train: int, test: int, seed: int) -> None:
    for name, value, least in (("d", d, 1), ("train", train, 1), ("test", test, 1), ("seed", seed, 0)):
        check(isinstance(value, int) and not isinstance(value, bool) and value >= least,
              f"{task}: {name} must be an integer >= {least}, got {value!r}")
    check(d <= MAX_D, f"{task}: d must be <= {MAX_D}, got {d}")


def two_gaussians(d: int = 10, separation: float = 2.0, train: int = 1000, test: int = 1000,
                  seed: int = 0) -> Dataset:
    """Two unit-covariance Gaussians in R^d whose means are ``separation`` apart along u.

    Returns a :class:`Dataset` with ``X_*`` ``(train|test, d)`` float64 and ``y_*``
    uint8; continuous (``step=None``, unbounded range). Bayes error Phi(-separation/2).
    """
    _check_sizes("two-gaussians", d, train, test, seed)
    check(isinstance(separation, (int, float)) and not isinstance(separation, bool)
          and math.isfinite(separation) and separation >= 0,
          f"two-gaussians: separation must be a finite number >= 0, got {separation!r}")
    rng, u = np.random.default_rng(seed), direction(d)
    splits = []
    for size in (train, test):
        y = rng.integers(0, 2, size=size).astype(np.uint8)
        X = rng.standard_normal((size, d)) + np.outer((2.0 * y - 1.0) * separation / 2.0, u)
        splits.append((X, y))
    (X_train, y_train), (X_test, y_test) = splits
    return Dataset(X_train, y_train, X_test, y_test, step=None, value_range=(-math.inf, math.inf),
                   description=f"two Gaussians in R^{d}, separation {separation:g}, seed {seed}")


def linear_threshold(d: int = 10, margin: float = 0.0, train: int = 1000, test: int = 1000,
                     seed: int = 0) -> Dataset:
    """x ~ N(0, I_d) conditioned on |u.x| >= margin, labelled y = [u.x > 0].

    The component along u is drawn exactly from its conditional law (a random sign times
    a standard normal truncated to [margin, inf), ``scipy.stats.truncnorm``) and the
    orthogonal part from N(0, I) projected off u, so no sample is rejected.
    """
    from scipy.stats import truncnorm

    _check_sizes("linear-threshold", d, train, test, seed)
    check(isinstance(margin, (int, float)) and not isinstance(margin, bool) and 0 <= margin <= 8,
          f"linear-threshold: margin must be a number in [0, 8], got {margin!r}")
    rng, u = np.random.default_rng(seed), direction(d)
    splits = []
    for size in (train, test):
        along = truncnorm.rvs(float(margin), np.inf, size=size, random_state=rng)
        along *= np.where(rng.integers(0, 2, size=size) == 1, 1.0, -1.0)
        noise = rng.standard_normal((size, d))
        X = noise - np.outer(noise @ u, u) + np.outer(along, u)
        splits.append((X, (X @ u > 0).astype(np.uint8)))
    (X_train, y_train), (X_test, y_test) = splits
    return Dataset(X_train, y_train, X_test, y_test, step=None, value_range=(-math.inf, math.inf),
                   description=f"linear threshold in R^{d}, margin {margin:g}, seed {seed}")
