"""The attackers on the library's own classes, and under the referee."""

from __future__ import annotations

import numpy as np
import pytest

from defendability import Game
from defendability.attackers import Mixture, Null, PointFlip, Shatter, WorstCase
from defendability.budget import exact_distance as known_distance
from defendability.classes import Conjunctions, Halfspaces, Parities, Subsets, Table, Thresholds
from defendability.registry import build

CLASSES = [Subsets(N=20, d=5), Parities(n=6), Conjunctions(n=5), Table(N=8, size=40, seed=3)]


@pytest.mark.parametrize("cls", CLASSES, ids=repr)
@pytest.mark.parametrize("attacker", [Shatter(), Mixture()], ids=repr)
def test_shattering_attackers_give_members_flipping_the_trigger_at_cost_eps(cls, attacker):
    d = cls.vc_dimension
    eps = 1 / d
    for seed in range(10):
        rng = np.random.default_rng(seed)
        dist, f = attacker.setup(cls, eps, rng)
        assert cls.contains(f)
        x_star = dist.sample(rng, 1)[0]
        f_star = attacker.backdoor(cls, dist, f, x_star, eps, rng)
        if f_star is None:  # only the heavy point of the mixture
            assert isinstance(attacker, Mixture) and np.array_equal(x_star, cls.shattered_set()[-1])
            continue
        assert cls.contains(f_star) and f_star(x_star[None])[0] != f(x_star[None])[0]
        assert known_distance(cls, f, f_star, dist) == pytest.approx(1 / d, abs=1e-12)


@pytest.mark.parametrize("cls,eps,valid", [(Subsets(N=16, d=4), 1 / 16, True), (Subsets(N=16, d=4), 0.05, False),
                                           (Parities(n=6), 0.5, True), (Parities(n=6), 0.4, False),
                                           (Conjunctions(n=4), 0.5, True)], ids=repr)
def test_point_flip_is_valid_exactly_when_the_cheapest_flip_fits(cls, eps, valid):
    found = 0
    for seed in range(12):
        rng = np.random.default_rng(seed)
        dist, f = PointFlip().setup(cls, eps, rng)
        x_star = dist.sample(rng, 1)[0]
        f_star = PointFlip().backdoor(cls, dist, f, x_star, eps, rng)
        if f_star is None:
            continue
        found += 1
        assert cls.contains(f_star) and f_star(x_star[None])[0] != f(x_star[None])[0]
        assert known_distance(cls, f, f_star, dist) <= eps + 1e-12
    assert (found > 0) == valid


@pytest.mark.parametrize("cls", [Halfspaces(d=2), Thresholds(), Subsets(N=30, d=3)], ids=repr)
def test_point_flip_never_sends_a_backdoor_the_referee_rejects(cls):
    r = Game(cls, "point-flip", "accept", 0.1).play(rounds=60, seed=0)
    assert set(r.invalid_reasons) <= {"no_backdoor"}
    assert r.beta == r.valid_rounds / 60  # accept misses every valid backdoor


@pytest.mark.parametrize("spec,eps,reasons", [("subsets:N=20,d=5", 0.2, {}), ("parities:n=5", 0.2, {}),
                                              ("subsets:N=20,d=5", 0.19, {"no_backdoor": 100})])
def test_shatter_under_the_referee(spec, eps, reasons):
    r = Game(spec, "shatter", "accept", eps).play(rounds=100, seed=1)
    assert r.invalid_reasons == reasons
    assert r.lower_bound == (1.0 if not reasons else None)


def test_mixture_under_the_referee_is_invalid_only_at_the_heavy_point():
    r = Game("subsets:N=20,d=5", "mixture", "accept", 0.1).play(rounds=300, seed=2)
    assert set(r.invalid_reasons) <= {"no_backdoor"}
    # each round's trigger is the heavy point with probability 1 - 4 eps = 0.6
    from scipy.stats import binomtest
    lo, hi = binomtest(r.invalid_rounds, 300).proportion_ci(confidence_level=0.999, method="wilson")
    assert lo <= 0.6 <= hi
    assert r.lower_bound == pytest.approx(0.4)


def test_null_under_the_referee():
    r = Game("thresholds", "null", "accept", 0.1).play(rounds=30, seed=0)
    assert r.invalid_reasons == {"no_backdoor": 30} and r.beta == 0.0


def test_worst_case_finds_what_a_voter_misses_on_a_table():
    cls = Table(N=6, size=24, seed=1)
    attacker = WorstCase(base="point-flip", trials=4).against(build("defenders", "vote:learner=one-inclusion,voters=9"))
    rng = np.random.default_rng(0)
    dist, f = attacker.setup(cls, 0.35, rng)
    x_star = dist.sample(rng, 1)[0]
    f_star = attacker.backdoor(cls, dist, f, x_star, 0.35, rng)
    valid = attacker.candidates(cls, dist, f, x_star, 0.35)
    assert (f_star is None) == (len(valid) == 0)
    if f_star is not None:
        assert cls.contains(f_star) and any(f_star == c for c in valid)


def test_worst_case_under_the_referee():
    r = Game("subsets:N=6,d=2", "worst-case:base=shatter,trials=2", "vote:learner=closure,voters=15",
             0.5).play(rounds=20, seed=0)
    assert r.valid_rounds == 20
    assert Null().lower_bound(Thresholds(), 0.1) is None
