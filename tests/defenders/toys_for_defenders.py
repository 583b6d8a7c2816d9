"""Tiny learners and a recording sampler for the defender tests (independent of the library's);
the function classes are in ``toys``."""

from __future__ import annotations

import math

import numpy as np

from defendability.learners.base import Learner
from defendability.spaces import Sampler


class Constant(Learner):
    """Predicts ``value`` everywhere; e(k) unknown."""

    name = "constant"

    def __init__(self, value: int = 0):
        self.value = value

    def predict(self, cls, X, Y, queries):
        return np.full((X.shape[0], len(queries)), self.value, dtype=np.uint8)


class Memoriser(Learner):
    """Predicts 1 iff the query is a positive of the batch; e(k) = 1/(k+1), m(eta) = ceil(1/eta)."""

    name = "memoriser"

    def __init__(self):
        self.calls = 0

    def predict(self, cls, X, Y, queries):
        self.calls += 1
        hit = (X[:, :, None] == queries[None, None, :]) & (Y[:, :, None] == 1)
        return hit.any(axis=1).astype(np.uint8)

    def expected_error(self, cls, k):
        return 1.0 / (k + 1)

    def sample_size(self, cls, eta):
        return math.ceil(1.0 / eta)


class Recording(Sampler):
    """A sampler that keeps every draw it hands out (``handed``: one array per call)."""

    def __init__(self, dist, rng):
        super().__init__(dist, rng)
        self.handed = []

    def __call__(self, size):
        out = super().__call__(size)
        self.handed.append(out.copy())
        return out

    def batches(self, batches, k):
        out = super().batches(batches, k)
        self.handed.append(out.points[out.indices()].reshape(-1, *out.points.shape[1:]).copy())
        return out
