"""Tiny function classes for the attacker tests, independent of the library's classes."""

from __future__ import annotations

import itertools
import math

import numpy as np

from defendability.classes.base import Function, FunctionClass
from defendability.spaces import Distribution, UniformDiscrete, UniformInterval


class Labelling(Function):
    """A function on the domain {0..M-1} given by its table of labels."""

    def __init__(self, bits):
        self.bits = tuple(int(b) for b in bits)

    def __call__(self, x):
        return np.asarray(self.bits, dtype=np.uint8)[np.asarray(x, dtype=np.int64)]


class ToySets(FunctionClass):
    """Indicators of the subsets of {0..M-1} with at most d elements.

    Members are enumerated in order of size, then lexicographically; the shattered set
    is {0..d-1}; ``cheapest_flip`` searches all members (exact on finite supports).
    """

    name = "toy-sets"

    def __init__(self, M: int = 8, d: int = 3):
        self.M, self.d = M, d

    @property
    def vc_dimension(self):
        return self.d

    @property
    def point_shape(self):
        return ()

    def default_distribution(self):
        return UniformDiscrete(self.M)

    def shattered_set(self):
        return np.arange(self.d)

    def indicator(self, elements) -> Labelling:
        bits = np.zeros(self.M, dtype=np.uint8)
        bits[list(elements)] = 1
        return Labelling(bits)

    def realise(self, points, labels):
        points, labels = np.asarray(points), np.asarray(labels)
        assert set(points.tolist()) <= set(range(self.d)), "realise outside the shattered set"
        return self.indicator(points[labels == 1].tolist())

    def contains(self, f):
        return isinstance(f, Labelling) and len(f.bits) == self.M and sum(f.bits) <= self.d

    def random_member(self, rng):
        size = int(rng.integers(0, self.d + 1))
        return self.indicator(rng.choice(self.M, size=size, replace=False).tolist())

    def members(self):
        for size in range(self.d + 1):
            for elements in itertools.combinations(range(self.M), size):
                yield self.indicator(elements)

    def size(self):
        return sum(math.comb(self.M, j) for j in range(self.d + 1))

    def cheapest_flip(self, f, x, dist):
        points, probs = dist.support()
        target = 1 - int(f(np.asarray(x)[None])[0])
        best, best_cost = None, math.inf
        for h in self.members():
            if int(h(np.asarray(x)[None])[0]) != target:
                continue
            cost = float(probs[h(points) != f(points)].sum())
            if cost < best_cost:
                best, best_cost = h, cost
        return best


class ClosedFormSets(ToySets):
    """ToySets with a closed-form distance (counted), to exercise that path."""

    name = "closed-form-sets"

    def __init__(self, M: int = 8, d: int = 3):
        super().__init__(M, d)
        self.exact_calls = 0

    def exact_distance(self, f, g, dist):
        self.exact_calls += 1
        points, probs = dist.support()
        return float(probs[f(points) != g(points)].sum())


class NoFlipSets(ToySets):
    """A class whose ``cheapest_flip`` is broken: it returns f itself."""

    def cheapest_flip(self, f, x, dist):
        return f


class Step(Function):
    """x -> [x >= theta] on the real line."""

    def __init__(self, theta: float):
        self.theta = float(theta)

    def __call__(self, x):
        return (np.asarray(x, dtype=float) >= self.theta).astype(np.uint8)


class ToyThresholds(FunctionClass):
    """Thresholds on [0, 1): no finite support and no closed-form distance."""

    name = "toy-thresholds"

    @property
    def vc_dimension(self):
        return 1

    @property
    def point_shape(self):
        return ()

    def default_distribution(self) -> Distribution:
        return UniformInterval(0.0, 1.0)

    def shattered_set(self):
        return np.array([0.5])

    def realise(self, points, labels):
        return Step(0.5 if int(np.asarray(labels)[0]) == 1 else 2.0)

    def contains(self, f):
        return isinstance(f, Step)

    def random_member(self, rng):
        return Step(float(rng.random()))

    def cheapest_flip(self, f, x, dist):
        x = float(x)
        return Step(x + 1e-9) if x >= f.theta else Step(x)
