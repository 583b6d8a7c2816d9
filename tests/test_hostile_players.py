"""A hostile-player property test: players that vandalise everything they are handed
change no verdict of the referee.

``Vandal`` attackers and defenders wrap an honest component, play exactly as it does,
and then damage every object the referee handed them (and every object they handed the
referee): arrays overwritten (made writeable first where they were not), lists and
dicts extended, numbers shifted, new attributes planted. Since the referee keeps its own
copies and hands every player fresh ones, the rounds (statuses, decisions, scores,
distances, counted cost) must equal those of the honest components, round by round.
Hypothesis draws the game, the seed, the rounds and the damage.
"""

from __future__ import annotations

import copy

import numpy as np
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from defendability import Game
from defendability.attackers.base import Attacker
from defendability.defenders.base import Defender, Detector
from defendability.registry import build

#: (class, attacker, defender, eps): small games covering finite supports, the cube,
#: graded and 0/1 defenders, white-box and black-box ones, valid and invalid rounds.
GAMES = [
    ("subsets:N=16,d=4", "shatter", "vote:learner=closure,voters=11", 1 / 4),
    ("subsets:N=32,d=6", "mixture", "boltzmann", 0.05),
    ("parities:n=6", "point-flip", "vote:learner=span,voters=9", 1 / 64),
    ("subsets:N=16,d=4", "point-flip", "distill:learner=closure", 0.1),
    ("trees:n=8,s=8", "junta-flip", "tree-depth", 1 / 8),
    ("intervals", "mixture", "neighbours", 0.05),
]


def vandalise(obj: object, rng: np.random.Generator, depth: int = 3, seen: set[int] | None = None) -> None:
    """Damage ``obj`` and what it holds, in place, as far as Python lets a player."""
    seen = set() if seen is None else seen
    if depth < 0 or id(obj) in seen or obj is None or isinstance(obj, (type, str, bytes, int, float, bool)):
        return
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        try:
            obj.flags.writeable = True
        except ValueError:
            return
        if obj.size and obj.dtype != object:
            obj.flat[rng.integers(0, obj.size)] = obj.flat[rng.integers(0, obj.size)] + 1
            obj[...] = np.roll(obj, 1)
        return
    if isinstance(obj, list):
        obj.append("junk")
        return
    if isinstance(obj, dict):
        obj["junk"] = object()
        return
    if isinstance(obj, np.random.Generator):
        obj.random(int(rng.integers(1, 5)))  # moves a stream the player holds
        return
    own = getattr(obj, "__dict__", None)
    if not isinstance(own, dict):
        return
    for name, value in list(own.items()):
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)) and not name.startswith("__"):
            try:
                setattr(obj, name, value + 1)
            except (AttributeError, TypeError):
                pass
        else:
            vandalise(value, rng, depth - 1, seen)
    try:
        obj.vandalised = True
    except (AttributeError, TypeError):
        pass


class VandalAttacker(Attacker):
    """Plays as ``base``; then, in its next call and after its last, damages what the
    referee handed it and what it handed the referee (it returns a private copy of its
    answer, so the damage never changes what it chose)."""

    name = "vandal"

    def __init__(self, base: str, damage: int):
        self.base = build("attackers", base)
        self.modes = self.base.modes
        self.damage = damage
        self.kept: list[object] = []

    def against(self, defender):
        bound = copy.copy(self)
        bound.base = self.base.against(defender)
        return bound

    def check_class(self, cls):
        self.base.check_class(cls)

    def lower_bound(self, cls, eps):
        return self.base.lower_bound(cls, eps)

    def _wreck(self, *objs):
        rng = np.random.default_rng(self.damage)
        for obj in (*self.kept, *objs):
            vandalise(obj, rng)

    def setup(self, cls, eps, rng):
        # its own copies of what the honest attacker chose (which may be cached and shared
        # with other matches in this process): these are what it hands the referee, and
        # what it damages later
        dist, f = copy.deepcopy(self.base.setup(cls, eps, rng))
        self.kept = [cls, dist, f]
        return dist, f

    def backdoor(self, cls, dist, f, x_star, eps, rng):
        f_star = self.base.backdoor(cls, copy.deepcopy(dist), copy.deepcopy(f), x_star.copy(), eps, rng)
        answer = copy.deepcopy(f_star)
        self._wreck(cls, dist, f, x_star, f_star)
        return answer


class VandalDefender(Defender):
    """Decides as ``base``; after each decision damages everything it was handed: the
    class, the function (through its counted view), the sampler and its distribution,
    the generator and the inputs."""

    name = "vandal"

    def __init__(self, base: str, damage: int):
        self.base = build("defenders", base)
        self.damage = damage

    @property
    def graded(self):
        return self.base.graded

    def check_class(self, cls):
        self.base.check_class(cls)

    def fit(self, cls, g, sampler, eps, rng):
        inner = self.base.fit(cls, g, sampler, eps, rng)
        damage = np.random.default_rng(self.damage)

        class _Vandal(Detector):
            threshold = inner.threshold

            def score(self, x):
                return inner.score(x)

            def score_and_decide(self, x):
                scores, decisions = inner.score_and_decide(x)
                scores, decisions = np.array(scores, copy=True), np.array(decisions, copy=True)
                # what it was handed (its own detector, and caches the honest component keeps
                # in its module, are its own: outside what the referee can protect in-process)
                for obj in (cls, g.function, sampler, getattr(sampler, "_dist", None), rng, x):
                    vandalise(obj, damage)
                return scores, decisions

        return _Vandal()


@settings(max_examples=30, deadline=None, derandomize=True, phases=(Phase.explicit, Phase.generate))
@given(game=st.sampled_from(GAMES), seed=st.integers(0, 2**40), first=st.integers(0, 10**6),
       damage=st.integers(0, 2**32), who=st.sampled_from(["attacker", "defender", "both"]))
def test_vandals_change_no_verdict(game, seed, first, damage, who):
    cls, attacker, defender, eps = game
    vandal_attacker = VandalAttacker(attacker, damage) if who in ("attacker", "both") else attacker
    vandal_defender = VandalDefender(defender, damage) if who in ("defender", "both") else defender
    indices = range(first, first + 3)
    honest = Game(cls, attacker, defender, eps).play_rounds(seed, indices)
    hostile = Game(cls, vandal_attacker, vandal_defender, eps).play_rounds(seed, indices)
    assert hostile == honest
