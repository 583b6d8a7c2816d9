"""The adaptive worst-case attacker (THEORY.md §4.2)."""

from __future__ import annotations

import numpy as np
import pytest

from defendability.attackers.base import Attacker
from defendability.attackers.worst_case import WorstCase
from defendability.classes.base import Counted
from defendability.defenders.base import Defender, Detector
from defendability.errors import ParameterError, SpecError, UserError
from defendability.registry import build
from defendability.spaces import FiniteDistribution, Sampler, UniformInterval
from scripted import SharedLog
from toys import ToySets, ToyThresholds

LIGHT = [0.05, 0.05, 0.05, 0.05, 0.4, 0.4]


class LightPoints(Attacker):
    """D: four light points (0.05) and two heavy ones (0.4); f = the empty set."""

    name = "light-points"

    def setup(self, cls, eps, rng):
        return FiniteDistribution(np.arange(6), np.array(LIGHT)), cls.indicator([])

    def backdoor(self, cls, dist, f, x_star, eps, rng):
        return None


class ContinuousBase(LightPoints):
    def setup(self, cls, eps, rng):
        return UniformInterval(0.0, 1.0), cls.indicator([])


class AcceptsOnly(Defender):
    """Deterministic: accepts iff g's labels on the points 0..5 equal ``target``."""

    name = "accepts-only"

    def __init__(self, target=None):
        self.target, self.fits = target, 0

    def fit(self, cls, g, sampler, eps, rng):
        self.fits += 1
        hit = self.target is not None and tuple(g(np.arange(6)).tolist()) == self.target

        class _D(Detector):
            def score(self, x):
                return np.full(len(x), 0.0 if hit else 1.0)

        return _D()


class AcceptsAll(AcceptsOnly):
    def fit(self, cls, g, sampler, eps, rng):
        self.fits += 1

        class _D(Detector):
            def score(self, x):
                return np.zeros(len(x))

        return _D()


class Inspector(Defender):
    """Records what it is handed; accepts."""

    name = "inspector"

    def __init__(self):
        self.seen = SharedLog()

    def fit(self, cls, g, sampler, eps, rng):
        self.seen.append((type(g), type(sampler), sampler(3), rng.random()))

        class _D(Detector):
            def score(self, x):
                return np.zeros(len(x))

        return _D()


def _labels(*elements):
    return tuple(int(i in elements) for i in range(6))


def _play(defender, eps=0.15, x_star=0, **params):
    cls = ToySets(M=6, d=3)
    attacker = WorstCase(base=LightPoints(), **params).against(defender)
    dist, f = attacker.setup(cls, eps, np.random.default_rng(0))
    return cls, attacker, dist, f, attacker.backdoor(cls, dist, f, np.int64(x_star), eps, np.random.default_rng(1))


def test_candidates_are_the_valid_labellings_in_enumeration_order():
    cls, attacker, dist, f, _ = _play(AcceptsAll())
    found = [tuple(h(np.arange(6)).tolist()) for h in attacker.candidates(cls, dist, f, np.int64(0), 0.15)]
    # brute force: sets holding 0 plus at most two more light points (mass <= 0.15), size <= 3
    assert found == [_labels(0), _labels(0, 1), _labels(0, 2), _labels(0, 3),
                     _labels(0, 1, 2), _labels(0, 1, 3), _labels(0, 2, 3)]


def test_picks_the_one_candidate_the_defender_accepts():
    target = _labels(0, 2, 3)
    defender = AcceptsOnly(target)
    cls, _, _, f, f_star = _play(defender, trials=4)
    assert cls.contains(f_star) and tuple(f_star(np.arange(6)).tolist()) == target
    assert defender.fits == 7 * 4  # every candidate, trials fits each


def test_ties_go_to_the_first_candidate_in_order():
    _, _, _, _, f_star = _play(AcceptsOnly(None), trials=2)
    assert tuple(f_star(np.arange(6)).tolist()) == _labels(0)


def test_a_fully_accepted_candidate_stops_the_search():
    defender = AcceptsAll()
    _, _, _, _, f_star = _play(defender, trials=5)
    assert tuple(f_star(np.arange(6)).tolist()) == _labels(0) and defender.fits == 5


def test_max_candidates_limits_the_search():
    _, _, _, _, f_star = _play(AcceptsOnly(_labels(0, 2, 3)), max_candidates=3, trials=1)
    assert tuple(f_star(np.arange(6)).tolist()) == _labels(0)  # the target is 7th: not considered


def test_no_backdoor_when_no_member_is_valid():
    defender = AcceptsAll()
    _, _, _, _, f_star = _play(defender, x_star=4)  # a heavy point costs 0.4 > eps
    assert f_star is None and defender.fits == 0


def test_fits_see_a_counted_function_and_fresh_samplers_with_common_coins():
    inspector = Inspector()
    _play(inspector, trials=3, eps=0.05)  # only {0} is valid: one candidate, three fits
    assert len(inspector.seen) == 3
    assert all(g is Counted and s is Sampler for g, s, _, _ in inspector.seen)
    assert len({row[3] for row in inspector.seen}) == 3  # independent defender coins per trial
    assert all(set(np.asarray(x).tolist()) <= set(range(6)) for _, _, x, _ in inspector.seen)


def test_against_returns_a_bound_copy_and_unbound_backdoor_is_refused():
    attacker = WorstCase(base=LightPoints())
    defender = AcceptsAll()
    bound = attacker.against(defender)
    assert bound is not attacker and bound.defender is defender and attacker.defender is None
    cls = ToySets(M=6, d=3)
    dist, f = attacker.setup(cls, 0.15, np.random.default_rng(0))
    with pytest.raises(UserError, match="against"):
        attacker.backdoor(cls, dist, f, np.int64(0), 0.15, np.random.default_rng(0))


def test_classes_and_distributions_it_cannot_enumerate_are_refused():
    with pytest.raises(UserError, match="cannot enumerate"):
        attacker = WorstCase(base="point-flip").against(AcceptsAll())
        cls = ToyThresholds()
        dist, f = attacker.setup(cls, 0.1, np.random.default_rng(0))
        attacker.backdoor(cls, dist, f, np.float64(0.5), 0.1, np.random.default_rng(0))
    attacker = WorstCase(base=ContinuousBase()).against(AcceptsAll())
    cls = ToySets(M=6, d=3)
    dist, f = attacker.setup(cls, 0.1, np.random.default_rng(0))
    with pytest.raises(UserError, match="finite support"):
        attacker.backdoor(cls, dist, f, np.int64(0), 0.1, np.random.default_rng(0))


def test_setup_is_the_base_attackers():
    cls = ToySets(M=8, d=4)
    a = WorstCase(base="mixture").setup(cls, 0.2, np.random.default_rng(3))
    b = build("attackers", "mixture").setup(cls, 0.2, np.random.default_rng(3))
    np.testing.assert_array_equal(a[0].support()[1], b[0].support()[1])
    assert a[1] == b[1]
    assert WorstCase().lower_bound(cls, 0.2) is None


def test_parameter_validation():
    with pytest.raises(ParameterError, match="trials"):
        build("attackers", "worst-case:trials=0")
    with pytest.raises(ParameterError, match="max_candidates"):
        build("attackers", "worst-case:max_candidates=0")
    with pytest.raises(SpecError, match="nope"):
        build("attackers", "worst-case:base=nope")
    built = build("attackers", "worst-case:base=shatter,trials=3")
    assert isinstance(built, WorstCase) and built.trials == 3 and built.base.name == "shatter"
