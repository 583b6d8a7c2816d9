"""The mixture attacker (lower bound L2 of THEORY.md §2.1)."""

from __future__ import annotations

import functools

import numpy as np

from ..budget import floor_inverse
from ..classes.base import Function, FunctionClass
from ..registry import Match, register
from ..spaces import Distribution, FiniteDistribution
from .base import Attacker
from .shatter import row_index, shattered_points

# A remaining mass below this is float error of 1 - m*eps, not a real atom.
_NEGLIGIBLE_MASS = 1e-12


@register("attackers", "mixture")
class Mixture(Attacker):
    """L2: mass eps on each of d-1 shattered points, the rest on a last point labelled 0.

    Setup: with T = ``cls.shattered_set()`` (d points) and m = min(d - 1, floor(1/eps))
    (robust to float error), D puts mass eps on each of t_1..t_m = T[:m] and the
    remaining 1 - m*eps on t_d = T[-1] (the atom is omitted when that mass is zero);
    f realises a uniformly random labelling of t_1..t_m and label 0 at t_d.
    Backdoor: ``None`` when x* = t_d, by design whatever a flip there would cost:
    t_d's label is fixed to 0, and declining at t_d is what the L2 argument uses. (A
    flip there costs the mass 1 - m*eps of t_d, which is below eps exactly when
    eps > 1/d, so it is not always over budget.) Else f* = f with x*'s label flipped
    (distance exactly eps).

    Guarantee (THEORY.md §2.1, L2, derived): conditioned on x in {t_1..t_m}, the clean
    pair (f, x) and the backdoored pair (f*, x*) have the same law, so every defender
    has alpha + beta >= m*eps; ``lower_bound`` returns m*eps, which is (d-1)*eps in
    THEORY's regime eps <= 1/(d-1).

    Deviation: THEORY states L2 for eps <= 1/(d-1) only. Beyond it, (d-1)*eps mass
    would not fit in a distribution, so we use m = floor(1/eps) < d-1 atoms; the same
    argument gives the bound m*eps.

    No parameters; no state between rounds; all randomness from the given ``rng``.
    """

    test_match = Match(cls="subsets:N=12,d=3", eps=0.1)

    @staticmethod
    @functools.lru_cache(maxsize=64)  # a pure function of (cls, eps), recomputed every round otherwise
    def _design(cls: FunctionClass, eps: float) -> tuple[np.ndarray, FiniteDistribution]:
        """The points t_1..t_m, t_d (shape ``(m+1, *point_shape)``) and D on them."""
        shattered = shattered_points(cls)
        m = min(len(shattered) - 1, floor_inverse(eps))
        rest = 1.0 - m * eps
        if rest < _NEGLIGIBLE_MASS:
            rest = 0.0
        points = np.concatenate([shattered[:m], shattered[-1:]])
        masses = np.append(np.full(m, eps), rest)
        return points, FiniteDistribution(points, masses / masses.sum())

    def setup(self, cls: FunctionClass, eps: float, rng: np.random.Generator) -> tuple[Distribution, Function]:
        points, dist = self._design(cls, eps)
        labels = np.append(rng.integers(0, 2, size=len(points) - 1, dtype=np.uint8), np.uint8(0))
        return dist, cls.realise(points, labels)

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray,
                 eps: float, rng: np.random.Generator) -> Function | None:
        points, _ = self._design(cls, eps)
        i = row_index(points, x_star)
        if i is None or i == len(points) - 1:
            # x* = t_d: decline by design (t_d's label stays 0, as L2 needs), whatever a
            # flip there would cost (its mass 1 - m*eps is below eps when eps > 1/d)
            return None
        labels = np.asarray(f(points), dtype=np.uint8).copy()
        labels[i] ^= 1
        return cls.realise(points, labels)

    def lower_bound(self, cls: FunctionClass, eps: float) -> float | None:
        points, _ = self._design(cls, eps)
        return (len(points) - 1) * eps
