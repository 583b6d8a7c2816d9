"""The symmetric-shattering attacker (lower bound L1 of THEORY.md §2.1)."""

from __future__ import annotations

import functools

import numpy as np

from ..budget import ceil_inverse
from ..classes.base import Function, FunctionClass
from ..errors import check
from ..registry import Match, register
from ..spaces import Distribution, FiniteDistribution
from .base import Attacker


def row_index(points: np.ndarray, x: np.ndarray) -> int | None:
    """Index of the first row of ``points`` (shape ``(m, *point_shape)``) equal to ``x``
    (shape ``point_shape``), or ``None``."""
    flat = np.asarray(points).reshape(len(points), -1)
    hits = np.flatnonzero(np.all(flat == np.asarray(x).reshape(1, -1), axis=1))
    return int(hits[0]) if len(hits) else None


def shattered_points(cls: FunctionClass) -> np.ndarray:
    """The class's shattered set, checked to be non-empty (a VC-0 class has no attack)."""
    points = np.asarray(cls.shattered_set())
    check(len(points) >= 1, f"class {cls.name!r} shatters no point (VC dimension 0): "
                            "the shattering attackers need d >= 1")
    return points


@register("attackers", "shatter")
class Shatter(Attacker):
    """L1: uniform D on ceil(1/eps) shattered points, random labels, flip the trigger.

    Setup: with T = ``cls.shattered_set()`` (d points) and m = ceil(1/eps) (computed
    robustly, so eps = 1/12 gives m = 12), D is uniform on T[:m] and f realises a
    uniformly random labelling of T[:m]. Backdoor: f* realises the same labelling with
    the trigger's label flipped, at distance exactly 1/m <= eps.

    When m > d (eps < 1/d) the attacker uses the m = d points it has and returns no
    backdoor (``None``): the flip would cost 1/d > eps, which the referee would reject.

    Guarantee (THEORY.md §2.1, L1, derived): for eps >= 1/d the backdoored pair
    (f*, x*) has exactly the law of the clean pair (f, x), so alpha + beta = 1 for every
    defender; ``lower_bound`` returns 1.0 there and ``None`` below 1/d.

    No parameters; no state between rounds (``backdoor`` recomputes the design from
    ``cls`` and ``eps``); all randomness comes from the given ``rng``.
    """

    test_match = Match(cls="subsets:N=12,d=4", eps=0.25)

    @staticmethod
    @functools.lru_cache(maxsize=64)  # a pure function of (cls, eps), recomputed every round otherwise
    def _design(cls: FunctionClass, eps: float) -> tuple[np.ndarray, bool, FiniteDistribution]:
        """The support T[:m], whether a flip fits the budget (m <= d), and D."""
        points = shattered_points(cls)
        m = ceil_inverse(eps)
        support = points[: min(m, len(points))]
        return support, m <= len(points), FiniteDistribution(support, np.full(len(support), 1.0 / len(support)))

    def setup(self, cls: FunctionClass, eps: float, rng: np.random.Generator) -> tuple[Distribution, Function]:
        support, _, dist = self._design(cls, eps)
        labels = rng.integers(0, 2, size=len(support), dtype=np.uint8)
        return dist, cls.realise(support, labels)

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray,
                 eps: float, rng: np.random.Generator) -> Function | None:
        support, affordable, _ = self._design(cls, eps)
        i = row_index(support, x_star)
        if not affordable or i is None:
            return None
        labels = np.asarray(f(support), dtype=np.uint8).copy()
        labels[i] ^= 1
        return cls.realise(support, labels)

    def lower_bound(self, cls: FunctionClass, eps: float) -> float | None:
        return 1.0 if self._design(cls, eps)[1] else None
