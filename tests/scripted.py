"""Scripted components for the referee tests (the class they play in is ``toys.ToySets``)."""

from __future__ import annotations

import numpy as np

from defendability.attackers.base import Attacker
from defendability.defenders.base import Defender, Detector
from defendability.spaces import FiniteDistribution
from toys import Labelling


class Indicator(Labelling):
    """The labelling of [0, M) that is 1 exactly on ``elements`` (the scripted attacker reads them)."""

    def __init__(self, elements, M: int):
        self.elements = tuple(sorted(int(e) for e in elements))
        self.M = M
        super().__init__(np.isin(np.arange(M), self.elements))


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


class SharedLog(list):
    """A list that every copy of its holder shares: the referee hands each decision a
    fresh copy of the defender, so a test that wants to see what the referee handed a
    component records it here. (It works because it defines ``__deepcopy__``: in one
    process a player can always keep state outside what it is handed; ``isolate=True``
    is what stops that.)"""

    def __deepcopy__(self, memo):
        return self
