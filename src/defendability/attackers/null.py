"""The null attacker: never backdoors (exercises the referee's invalid-round path)."""

from __future__ import annotations

import numpy as np

from ..classes.base import Function, FunctionClass
from ..registry import register
from ..spaces import Distribution
from .base import Attacker
from .point_flip import default_instance


@register("attackers", "null")
class Null(Attacker):
    """Never returns a backdoor: every round is invalid ("no_backdoor").

    Setup as ``point-flip``: D = ``cls.default_distribution()``, f =
    ``cls.random_member(rng)``; ``backdoor`` always returns ``None``. Under the
    referee's default ``invalid_policy="defender_wins"`` only the clean side is played,
    so the game measures the defender's false-alarm rate alpha alone. No parameters.
    """

    def setup(self, cls: FunctionClass, eps: float, rng: np.random.Generator) -> tuple[Distribution, Function]:
        return default_instance(cls, rng)

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray,
                 eps: float, rng: np.random.Generator) -> Function | None:
        return None
