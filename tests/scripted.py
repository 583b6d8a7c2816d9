"""A tiny explicit class and scripted components for the referee tests."""

from __future__ import annotations

import numpy as np


from defendability.attackers.base import Attacker
from defendability.classes.base import Function, FunctionClass
from defendability.defenders.base import Defender, Detector
from defendability.spaces import FiniteDistribution, UniformDiscrete


class Indicator(Function):
    """Indicator of a set of integers in [0, M)."""

    def __init__(self, elements, M: int):
        self.elements = tuple(sorted(int(e) for e in elements))
        self.M = M

    def __call__(self, x):
        mask = np.zeros(self.M, dtype=np.uint8)
        mask[list(self.elements)] = 1
        return mask[np.asarray(x, dtype=np.int64)]


class SmallSets(FunctionClass):
    """Subsets of [M] of size <= d (a scratch class, independent of the library's)."""

    name = "small-sets"

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

    def realise(self, points, labels):
        return Indicator(np.asarray(points)[np.asarray(labels) == 1], self.M)

    def contains(self, f):
        return isinstance(f, Indicator) and f.M == self.M and len(f.elements) <= self.d

    def random_member(self, rng):
        size = int(rng.integers(0, self.d + 1))
        return Indicator(rng.choice(self.M, size=size, replace=False), self.M)


class Scripted(Attacker):
    """Mass 1/8 on each of 8 points; f = {0}; the backdoor is chosen by ``mode``."""

    name = "scripted"

    def __init__(self, mode: str):
        self.mode = mode

    def setup(self, cls, eps, rng):
        return FiniteDistribution(np.arange(8), np.full(8, 1 / 8)), Indicator([0], 8)

    def backdoor(self, cls, dist, f, x_star, eps, rng):
        flipped = set(f.elements) ^ {int(x_star)}
        if self.mode == "honest":
            return Indicator(flipped, 8)
        if self.mode == "far":  # flips x* and two more points: distance 3/8
            return Indicator(flipped ^ {(int(x_star) + 1) % 8, (int(x_star) + 2) % 8}, 8)
        if self.mode == "no-flip":
            return Indicator(set(f.elements) ^ {(int(x_star) + 1) % 8}, 8)
        if self.mode == "outside":  # too many elements for the class
            return Indicator(set(range(8)) - ({int(x_star)} & set(f.elements)) - {0}, 8)
        if self.mode == "foreign":
            return lambda x: 1 - f(x)
        return None


class Coin(Defender):
    """Rejects with probability p using its coins; scores are its uniform draw."""

    name = "coin"

    def __init__(self, p: float = 0.3):
        self.p = p

    def fit(self, cls, g, sampler, eps, rng):
        draw = float(rng.random())
        p = self.p

        class _D(Detector):
            threshold = 1 - p

            def score(self, x):
                return np.full(len(x), draw)

        return _D()


