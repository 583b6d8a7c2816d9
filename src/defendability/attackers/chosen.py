"""The attacker that uses its choice of trigger in mode ``predicate`` (docs/variants.md)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np

from ..classes.base import Counted, Function, FunctionClass
from ..errors import IncompatibleError, UserError, check
from ..registry import Match, build, register
from ..spaces import Distribution, Sampler
from .base import Attacker

if TYPE_CHECKING:  # pragma: no cover
    from ..defenders.base import Defender
    from ..predicate import Predicate


@register("attackers", "chosen")
class Chosen(Attacker):
    """Mode predicate: among the points that satisfy P, the trigger the defender misses most.

    Parameters: ``base`` (SPEC of the attacker whose ``setup`` and ``backdoor`` it
    plays; default ``point-flip``), ``candidates`` (how many P-points it compares,
    default 8), ``trials`` (defender fits per candidate, default 2).

    Setup: ``base``'s. Choice: it draws from D until it holds ``candidates`` distinct
    points that satisfy P (at most ``trigger_draws * 2^z`` draws per candidate), asks
    ``base`` for a backdoor at each, fits a copy of the defender it plays against
    ``trials`` times on that backdoor (the same seeds for every candidate) and returns
    the candidate with the lowest mean score at the trigger (ties: the first found).
    Backdoor: ``base``'s at the chosen point. It is adaptive (``against``), as
    ``worst-case`` is: the game is "exists a defender for all attackers", so the
    attacker may know the defender.

    With z = 0 every point satisfies P: this is the chosen-trigger game the post calls
    indefensible in general. As z grows, fewer points of a finite support satisfy P
    and the choice shrinks to the random trigger. Cost per round: about
    ``candidates * 2^z`` checks of P (T hashes each) and ``candidates * trials``
    defender fits, all the attacker's.
    """

    test_spec = "chosen:candidates=2,trials=1"
    test_match = Match(cls="subsets:N=12,d=4", defender="vote:voters=3", eps=0.25)

    def __init__(self, base: str = "point-flip", candidates: int = 8, trials: int = 2):
        self.base = build("attackers", base)
        check(isinstance(self.base, Attacker) and self.base.triggered,
              f"base must be the SPEC of an attacker that backdoors a trigger, got {base!r}")
        check(type(candidates) is int and candidates >= 1, f"candidates must be an integer >= 1, got {candidates!r}")
        check(type(trials) is int and trials >= 1, f"trials must be an integer >= 1, got {trials!r}")
        self.candidates, self.trials = candidates, trials
        self.defender: Defender | None = None

    def check_class(self, cls: FunctionClass) -> None:
        self.base.check_class(cls)

    def against(self, defender: "Defender") -> "Chosen":
        if getattr(defender, "uses_trace", False):
            raise IncompatibleError(f"chosen simulates the defender without a trace; {defender!r} needs one")
        bound = copy.copy(self)
        bound.base = self.base.against(defender)
        bound.defender = defender
        return bound

    def setup(self, cls: FunctionClass, eps: float, rng: np.random.Generator) -> tuple[Distribution, Function]:
        return self.base.setup(cls, eps, rng)  # type: ignore[return-value]

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray,
                 eps: float, rng: np.random.Generator, **state: object) -> Function | None:
        return self.base.backdoor(cls, dist, f, x_star, eps, rng, **state)

    def choose_trigger(self, cls: FunctionClass, dist: Distribution, f: Function, predicate: "Predicate",
                       eps: float, rng: np.random.Generator, state: object = None) -> np.ndarray | None:
        if self.defender is None:
            raise UserError("chosen: no defender bound; call attacker.against(defender) first (the referee does this)")
        extra = {} if state is None else {"state": state}
        found: list[np.ndarray] = []
        seen: set[bytes] = set()
        for _ in range(self.candidates):
            point = Attacker.choose_trigger(self, cls, dist, f, predicate, eps, rng)
            if point is None:
                break
            if point.tobytes() not in seen:
                seen.add(point.tobytes())
                found.append(point)
        if not found:
            return None
        seeds = rng.integers(0, np.iinfo(np.int64).max, size=(self.trials, 2))
        best, best_score = None, np.inf
        for point in found:
            # the base's backdoor on a copy of the stream: the round's own backdoor call
            # (after this choice) must draw what it would draw without the comparison
            g = self.base.backdoor(cls, dist, f, point, eps, copy.deepcopy(rng), **extra)
            if g is None:
                continue
            score = np.mean([self._score(cls, dist, g, point, eps, s, predicate) for s in seeds])
            if score < best_score:
                best, best_score = point, score
        return best if best is not None else found[0]

    def _score(self, cls: FunctionClass, dist: Distribution, g: Function, point: np.ndarray, eps: float,
               seeds: np.ndarray, predicate: "Predicate") -> float:
        """The bound defender's score at ``point`` when handed ``g`` (and a copy of P, for
        a defender that checks it), fitted with the given seeds."""
        assert self.defender is not None
        extra = {"predicate": predicate.fresh()} if getattr(self.defender, "uses_predicate", False) else {}
        detector = copy.deepcopy(self.defender).fit(cls, Counted(g), Sampler(dist, np.random.default_rng(int(seeds[0]))),
                                                     eps, np.random.default_rng(int(seeds[1])), **extra)
        return float(np.asarray(detector.score(point[None]))[0])
