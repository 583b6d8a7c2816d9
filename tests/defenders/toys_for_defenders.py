"""Tiny classes, learners and samplers for the defender tests (independent of the library's)."""

from __future__ import annotations

import itertools
import math

import numpy as np

from defendability.classes.base import Function, FunctionClass
from defendability.learners.base import Learner
from defendability.spaces import Sampler, UniformDiscrete, UniformInterval


class Labelling(Function):
    """A function on {0..M-1} given by its table of labels."""

    def __init__(self, bits):
        self.bits = tuple(int(b) for b in bits)

    def __call__(self, x):
        return np.asarray(self.bits, dtype=np.uint8)[np.asarray(x, dtype=np.int64)]


class ToyTable(FunctionClass):
    """An explicit finite class: one member per row of a 0/1 table over {0..M-1}."""

    name = "toy-table"

    def __init__(self, rows):
        self.rows = np.asarray(rows, dtype=np.uint8)
        self.M = self.rows.shape[1]

    @classmethod
    def small_sets(cls, M: int, d: int) -> "ToyTable":
        rows = [[int(i in s) for i in range(M)] for j in range(d + 1) for s in itertools.combinations(range(M), j)]
        return cls(rows)

    @property
    def vc_dimension(self):
        return 1

    @property
    def point_shape(self):
        return ()

    def default_distribution(self):
        return UniformDiscrete(self.M)

    def shattered_set(self):
        return np.arange(1)

    def realise(self, points, labels):
        raise NotImplementedError

    def contains(self, f):
        return isinstance(f, Labelling) and any(f.bits == tuple(r) for r in self.rows.tolist())

    def random_member(self, rng):
        return Labelling(self.rows[rng.integers(len(self.rows))])

    def members(self):
        return (Labelling(r) for r in self.rows)

    def closure_predict(self, X, Y, queries):
        # memorise the positives (the closure for the class of small sets)
        hit = (X[:, :, None] == queries[None, None, :]) & (Y[:, :, None] == 1)
        return hit.any(axis=1).astype(np.uint8)


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


class Step(Function):
    """x -> [x >= theta] on the real line."""

    def __init__(self, theta: float):
        self.theta = float(theta)

    def __call__(self, x):
        return (np.asarray(x, dtype=float) >= self.theta).astype(np.uint8)


class ToyThresholds(FunctionClass):
    """Thresholds on [0, 1): not enumerable; ERM puts theta halfway across the gap."""

    name = "toy-thresholds"

    def __init__(self, erm: bool = True):
        self.erm = erm
        self.fits = 0

    @property
    def vc_dimension(self):
        return 1

    @property
    def point_shape(self):
        return ()

    def default_distribution(self):
        return UniformInterval(0.0, 1.0)

    def shattered_set(self):
        return np.array([0.5])

    def realise(self, points, labels):
        return Step(0.5 if int(np.asarray(labels)[0]) else 2.0)

    def contains(self, f):
        return isinstance(f, Step)

    def random_member(self, rng):
        return Step(float(rng.random()))

    def fit_member(self, X, Y):
        if not self.erm:
            raise TypeError("no ERM")
        self.fits += 1
        order = np.sort(np.asarray(X, dtype=float))
        labels = np.asarray(Y)[np.argsort(np.asarray(X, dtype=float))]
        # the threshold with the fewest mistakes among the gaps of the sorted sample
        mistakes = np.concatenate([[0], np.cumsum(labels == 1)]) + np.concatenate(
            [np.cumsum((labels == 0)[::-1])[::-1], [0]])
        cut = int(np.argmin(mistakes))
        edges = np.concatenate([[-1.0], order, [2.0]])
        return Step((edges[cut] + edges[cut + 1]) / 2)
