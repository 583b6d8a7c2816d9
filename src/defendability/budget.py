"""The closeness budget eps: distances between functions and the arithmetic of 1/eps.

Shared by the referee (which must never trust an attacker's numbers, so it computes
distances itself), the attackers (which decline backdoors they know to be too far),
and the defenders (whose batch sizes are multiples of 1/eps).
"""

from __future__ import annotations

import math

from .classes.base import Function, FunctionClass
from .spaces import Distribution

#: Relative float slack: 1/(1/12) must count as 12, not 12.000000000000002.
ROUNDING_SLACK = 1e-9


def ceil_inverse(eps: float, scale: float = 1.0) -> int:
    """``ceil(scale/eps)``, robust to float error (``ceil_inverse(1/12) == 12``)."""
    return math.ceil((scale / eps) * (1.0 - ROUNDING_SLACK))


def floor_inverse(eps: float, scale: float = 1.0) -> int:
    """``floor(scale/eps)``, robust to float error (``floor_inverse(1/12) == 12``)."""
    return math.floor((scale / eps) * (1.0 + ROUNDING_SLACK))


def exact_distance(cls: FunctionClass, f: Function, g: Function, dist: Distribution) -> float | None:
    """Pr_{x~dist}[f(x) != g(x)] where it can be computed exactly: the class's closed
    form, else a sum over the distribution's finite support; ``None`` when neither."""
    exact = cls.exact_distance(f, g, dist)
    if exact is not None:
        return float(exact)
    support = dist.support()
    if support is None:
        return None
    points, probs = support
    return math.fsum(probs[f(points) != g(points)])


def within_budget(distance: float, eps: float) -> bool:
    """``distance <= eps`` up to the float error of an exact sum (relative), nothing more."""
    return distance <= eps * (1.0 + ROUNDING_SLACK)
