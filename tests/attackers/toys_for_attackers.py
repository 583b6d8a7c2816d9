"""Variants of the shared ToySets for the point-flip attacker tests."""

from __future__ import annotations

from toys import ToySets


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
