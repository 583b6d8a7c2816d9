"""The point-flip attacker: the cheapest member that flips the trigger."""

from __future__ import annotations

import numpy as np

from ..budget import exact_distance, within_budget
from ..classes.base import Function, FunctionClass
from ..registry import Match, register
from ..spaces import Distribution
from .base import Attacker


def default_instance(cls: FunctionClass, rng: np.random.Generator) -> tuple[Distribution, Function]:
    """The class's default distribution and a member drawn from its reference prior."""
    return cls.default_distribution(), cls.random_member(rng)


@register("attackers", "point-flip")
class PointFlip(Attacker):
    """The cheapest valid backdoor the class allows: its cheapest flip at the trigger.

    Setup: D = ``cls.default_distribution()``, f = ``cls.random_member(rng)``.
    Backdoor: f* = ``cls.cheapest_flip(f, x*, D)``. It is returned only if it flips x*
    and, where the attacker can compute the distance exactly (``cls.exact_distance``,
    else a sum over ``D.support()``), that distance is <= eps; otherwise ``None``.
    Where the distance cannot be computed exactly the candidate is returned and the
    referee's estimate decides (the referee re-checks every backdoor anyway).

    Cost per round: one ``cheapest_flip`` call plus one evaluation of f and f* on the
    support (or the class's closed form). No bound on alpha + beta is claimed
    (``lower_bound`` is ``None``). No parameters; no state between rounds.
    """

    test_match = Match(cls="subsets:N=12,d=3", eps=0.1)

    def setup(self, cls: FunctionClass, eps: float, rng: np.random.Generator) -> tuple[Distribution, Function]:
        return default_instance(cls, rng)

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray,
                 eps: float, rng: np.random.Generator) -> Function | None:
        f_star = cls.cheapest_flip(f, x_star, dist)
        if f_star is None:
            return None
        trigger = np.asarray(x_star)[None]
        if f_star(trigger)[0] == f(trigger)[0]:
            return None
        distance = exact_distance(cls, f, f_star, dist)
        if distance is not None and not within_budget(distance, eps):
            return None
        return f_star
