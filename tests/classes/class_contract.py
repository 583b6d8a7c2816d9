"""Shared checks for the function classes: brute-force closure, the realise contract,
exact distances on finite supports, Wilson intervals (the brute-force VC dimension is in
``toys``)."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import binomtest

from defendability.classes.base import Function, FunctionClass
from defendability.spaces import Distribution

#: Confidence level of every Monte Carlo comparison in tests/classes.
LEVEL = 0.999


def labelling_matrix(functions: list[Function], domain: np.ndarray) -> np.ndarray:
    """``(M, P)`` uint8: the label of each function on each domain point."""
    return np.stack([f(domain) for f in functions])


def brute_closure(labels: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """The closure of a set of positives, from the definition: a point is predicted 1
    iff every member labelling all the positives 1 labels it 1 too. ``labels``:
    ``(M, P)`` labelling matrix, ``positives``: indices of positive points. Returns
    ``(P,)`` uint8 (all 0 when no member contains the positives)."""
    containing = np.all(labels[:, positives] == 1, axis=1)
    if not containing.any():
        return np.zeros(labels.shape[1], dtype=np.uint8)
    return np.all(labels[containing] == 1, axis=0).astype(np.uint8)


def support_distance(f: Function, g: Function, dist: Distribution) -> float:
    """Pr_{x~dist}[f(x) != g(x)] summed over a finite support."""
    points, probs = dist.support()
    return math.fsum(probs[f(points) != g(points)].tolist())


def monte_carlo_interval(f: Function, g: Function, dist: Distribution, rng: np.random.Generator,
                         n: int = 40_000) -> tuple[float, float]:
    """A Wilson interval (level ``LEVEL``) for Pr[f != g] from n fresh samples."""
    x = dist.sample(rng, n)
    k = int(np.count_nonzero(f(x) != g(x)))
    ci = binomtest(k, n).proportion_ci(confidence_level=LEVEL, method="wilson")
    return ci.low, ci.high


def labellings(d: int, rng: np.random.Generator, exhaustive_up_to: int = 10, draws: int = 64) -> np.ndarray:
    """Every 0/1 labelling of d points when d <= ``exhaustive_up_to``, else ``draws``
    random ones together with the all-0 and all-1 labellings. Shape ``(L, d)``."""
    if d <= exhaustive_up_to:
        codes = np.arange(2 ** d, dtype=np.int64)
        return ((codes[:, None] >> np.arange(d)) & 1).astype(np.uint8)
    random = rng.integers(0, 2, size=(draws, d), dtype=np.uint8)
    return np.vstack([np.zeros((1, d), np.uint8), np.ones((1, d), np.uint8), random])


def check_realises_shattered_set(cls: FunctionClass, rng: np.random.Generator) -> int:
    """Every labelling of the shattered set (exhaustively for d <= 10) is realised by
    a member of the class; returns how many labellings were checked."""
    T = cls.shattered_set()
    assert len(T) == cls.vc_dimension
    assert T.shape[1:] == tuple(cls.point_shape)
    all_labels = labellings(len(T), rng)
    for labels in all_labels:
        f = cls.realise(T, labels)
        assert cls.contains(f), (cls, labels, f)
        got = f(T)
        assert got.dtype == np.uint8 and got.shape == (len(T),)
        np.testing.assert_array_equal(got, labels)
    return len(all_labels)


def check_evaluates(cls: FunctionClass, f: Function, rng: np.random.Generator, m: int = 37) -> None:
    """f maps a batch of m points of the default distribution to (m,) uint8 in {0,1}."""
    x = cls.default_distribution().sample(rng, m)
    y = f(x)
    assert isinstance(y, np.ndarray) and y.dtype == np.uint8 and y.shape == (m,)
    assert set(np.unique(y).tolist()) <= {0, 1}
    empty = f(x[:0])
    assert empty.dtype == np.uint8 and empty.shape == (0,)
