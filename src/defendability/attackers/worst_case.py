"""The worst-case attacker: among all valid backdoors, the one the defender misses most."""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING

import numpy as np

from ..budget import within_budget
from ..classes.base import Counted, Function, FunctionClass
from ..errors import UserError, check
from ..registry import Match, build, register
from ..spaces import Distribution, Sampler
from ..trace import Trace
from .base import Attacker, split_setup

if TYPE_CHECKING:  # pragma: no cover
    from ..defenders.base import Defender


@register("attackers", "worst-case")
class WorstCase(Attacker):
    """Adaptive stress test: for each trigger, the valid f* the bound defender accepts most.

    Parameters: ``base`` (SPEC of the attacker whose ``setup`` gives D and f; default
    ``"mixture"``), ``trials`` (independent defender fits per candidate, default 16),
    ``max_candidates`` (default 4096).

    For tiny finite classes only: ``cls.members()`` must enumerate the class and D must
    have a finite support. Backdoor: enumerate the members f* with f*(x*) != f(x*) and
    Pr_D[f* != f] <= eps (exact sum over the support); keep one member per distinct
    labelling of supp(D) ∪ {x*}, the first in the class's enumeration order, up to
    ``max_candidates`` of them (later ones are not considered: a documented limit);
    for each, fit the bound defender ``trials`` times on ``Counted(f*)`` with a fresh
    ``Sampler`` and rng, and return the candidate with the highest acceptance rate at x*
    (ties: the first in enumeration order). ``None`` when no member is valid.

    Conventions and limits: deduplicating by labels on supp(D) ∪ {x*} is exact for a
    sample-only defender (one that calls g only on samples of D and on the scored input,
    as ``vote``, ``distill``, ``pool-vote`` and ``boltzmann`` do: those labels are all
    it can see); a defender that reads the representation, or queries g elsewhere, could
    tell apart members with the same labels there. The
    same ``trials`` seed pairs are used for every candidate (common random numbers),
    so candidates are compared on the same defender coins. Cost per round:
    |F| member evaluations on the support plus (#candidates x trials) defender fits.

    It is adaptive: ``against(defender)`` returns a copy bound to the defender, and
    ``backdoor`` on an unbound attacker raises ``UserError``. No bound on alpha + beta
    is claimed (``lower_bound`` is ``None``): it is a stress test of the "for every
    attacker" quantifier of THEORY.md §1, §4.2.
    """

    test_spec = "worst-case:trials=2,max_candidates=8"
    test_match = Match(cls="subsets:N=6,d=2", defender="vote:voters=3", eps=0.2)

    def __init__(self, base: str = "mixture", trials: int = 16, max_candidates: int = 4096):
        check(isinstance(trials, int) and trials >= 1, f"trials must be an integer >= 1, got {trials}")
        check(isinstance(max_candidates, int) and max_candidates >= 1,
              f"max_candidates must be an integer >= 1, got {max_candidates}")
        self.base = build("attackers", base)
        check(isinstance(self.base, Attacker), f"base must be an attacker SPEC, got {base!r}")
        self.trials = trials
        self.max_candidates = max_candidates
        self.defender: Defender | None = None

    def check_class(self, cls: FunctionClass) -> None:
        self.base.check_class(cls)

    def against(self, defender: "Defender") -> "WorstCase":
        bound = copy.copy(self)
        bound.base = self.base.against(defender)
        bound.defender = defender
        return bound

    def setup(self, cls: FunctionClass, eps: float, rng: np.random.Generator) -> tuple[Distribution, Function]:
        dist, f, _ = split_setup(self.base.setup(cls, eps, rng))  # its own backdoor needs no base state
        return dist, f

    def candidates(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray,
                   eps: float) -> list[Function]:
        """The valid backdoors, one per labelling of supp(D) ∪ {x*}, in enumeration order."""
        members = cls.members()
        if members is None:
            raise UserError(f"worst-case: class {cls!r} cannot enumerate its members; "
                            "use a tiny finite class")
        support = dist.support()
        if support is None:
            raise UserError(f"worst-case: distribution {dist!r} has no finite support; "
                            f"use a base attacker with a finite D (base={self.base!r})")
        points, probs = support
        view = np.concatenate([points, np.asarray(x_star)[None]])
        f_labels = np.asarray(f(view))
        seen: dict[bytes, Function] = {}
        for h in members:
            labels = np.asarray(h(view))
            if labels[-1] == f_labels[-1]:
                continue
            key = labels.tobytes()
            if key in seen or not within_budget(math.fsum(probs[labels[:-1] != f_labels[:-1]]), eps):
                continue
            seen[key] = h
            if len(seen) >= self.max_candidates:
                break
        return list(seen.values())

    def acceptance(self, cls: FunctionClass, dist: Distribution, g: Function, x_star: np.ndarray,
                   eps: float, seeds: np.ndarray, trace: Trace | None = None) -> float:
        """Fraction of the fits (one per row of ``seeds``: sampler seed, defender seed)
        whose detector accepts ``x_star`` when handed ``g`` (and ``trace``, for a
        defender with trace access)."""
        assert self.defender is not None
        trigger = np.asarray(x_star)[None]
        extra = {"trace": trace} if trace is not None else {}
        accepted = 0
        for sampler_seed, defender_seed in seeds:
            detector = self.defender.fit(cls, Counted(g), Sampler(dist, np.random.default_rng(int(sampler_seed))),
                                         eps, np.random.default_rng(int(defender_seed)), **extra)
            accepted += not bool(detector.decide(trigger)[0])
        return accepted / len(seeds)

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray,
                 eps: float, rng: np.random.Generator) -> Function | None:
        if self.defender is None:
            raise UserError("worst-case: no defender bound; call attacker.against(defender) first "
                            "(the referee does this)")
        trace = self._own_trace(cls, eps, x_star, rng) if getattr(self.defender, "uses_trace", False) else None
        seeds = rng.integers(0, np.iinfo(np.int64).max, size=(self.trials, 2))
        best, best_rate = None, -1.0
        for candidate in self.candidates(cls, dist, f, x_star, eps):
            rate = self.acceptance(cls, dist, candidate, x_star, eps, seeds, trace)
            if rate > best_rate:
                best, best_rate = candidate, rate
                if rate == 1.0:  # nothing can beat it, and ties go to the first
                    break
        return best

    def _own_trace(self, cls: FunctionClass, eps: float, x_star: np.ndarray, rng: np.random.Generator) -> Trace:
        """The trace a defender with trace access will receive on the backdoor side: this
        attacker's tape is the round's attacker stream, which ``rng`` was made from."""
        tape = getattr(rng.bit_generator, "seed_seq", None)
        if not isinstance(tape, np.random.SeedSequence):
            raise UserError("worst-case: against a defender with trace access it needs the round's attacker "
                            "stream (play it through the referee)")
        return Trace.from_stream(self, cls, eps, np.random.default_rng(tape), np.asarray(x_star))
