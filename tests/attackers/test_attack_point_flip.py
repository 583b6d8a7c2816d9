"""The point-flip and null attackers (THEORY.md §4.2)."""

from __future__ import annotations

import numpy as np
import pytest

from defendability.attackers.null import Null
from defendability.attackers.point_flip import PointFlip
from defendability.budget import exact_distance as known_distance, within_budget
from defendability.registry import build
from defendability.spaces import FiniteDistribution, UniformDiscrete, UniformInterval
from toys import Step, ToySets, ToyThresholds
from toys_for_attackers import ClosedFormSets, NoFlipSets


def test_setup_uses_the_default_distribution_and_a_random_member():
    cls = ToySets(M=8, d=3)
    dist, f = PointFlip().setup(cls, 0.2, np.random.default_rng(0))
    assert isinstance(dist, UniformDiscrete) and dist.N == 8
    assert cls.contains(f)
    members = {PointFlip().setup(cls, 0.2, np.random.default_rng(s))[1] for s in range(30)}
    assert len(members) > 5  # drawn from the rng, not fixed


def test_backdoor_flips_the_trigger_at_the_cheapest_cost():
    cls, eps = ToySets(M=8, d=3), 1 / 8  # every flip costs at least 1/8 under uniform D
    attacker = PointFlip()
    outcomes = set()
    for seed in range(40):
        rng = np.random.default_rng(seed)
        dist, f = attacker.setup(cls, eps, rng)
        x_star = dist.sample(rng, 1)[0]
        f_star = attacker.backdoor(cls, dist, f, x_star, eps, rng)
        # a full set (d elements) not containing x* needs a swap: 2/8 > eps
        swap_needed = sum(f.bits) == 3 and f(x_star[None])[0] == 0
        outcomes.add(swap_needed)
        if swap_needed:
            assert f_star is None
            continue
        assert cls.contains(f_star)
        assert f_star(x_star[None])[0] != f(x_star[None])[0]
        assert known_distance(cls, f, f_star, dist) == pytest.approx(1 / 8, abs=1e-15)
    assert outcomes == {True, False}


def test_backdoor_withheld_when_the_cheapest_flip_exceeds_eps():
    cls = ToySets(M=8, d=3)
    dist, f = PointFlip().setup(cls, 0.1, np.random.default_rng(0))
    assert PointFlip().backdoor(cls, dist, f, np.int64(2), 0.1, np.random.default_rng(0)) is None


def test_full_set_needs_a_swap_costing_two_points():
    # f = {0,1,2} has d elements: adding x = 5 forces removing one, distance 2/8.
    cls, dist = ToySets(M=8, d=3), UniformDiscrete(8)
    f = cls.indicator([0, 1, 2])
    assert PointFlip().backdoor(cls, dist, f, np.int64(5), 0.2, np.random.default_rng(0)) is None
    f_star = PointFlip().backdoor(cls, dist, f, np.int64(5), 0.25, np.random.default_rng(0))
    assert f_star is not None and f_star(np.array([5]))[0] == 1


def test_closed_form_distance_is_used_when_the_class_has_one():
    cls = ClosedFormSets(M=8, d=3)
    dist, f = PointFlip().setup(cls, 0.2, np.random.default_rng(0))
    assert PointFlip().backdoor(cls, dist, f, np.int64(3), 0.2, np.random.default_rng(0)) is not None
    assert cls.exact_calls == 1


def test_a_flip_that_does_not_flip_is_withheld():
    cls = NoFlipSets(M=8, d=3)
    dist, f = PointFlip().setup(cls, 0.5, np.random.default_rng(0))
    assert PointFlip().backdoor(cls, dist, f, np.int64(3), 0.5, np.random.default_rng(0)) is None


def test_without_a_computable_distance_the_candidate_goes_to_the_referee():
    cls = ToyThresholds()
    dist, f = PointFlip().setup(cls, 0.01, np.random.default_rng(0))
    assert isinstance(dist, UniformInterval) and isinstance(f, Step)
    x_star = np.float64(0.3)
    f_star = PointFlip().backdoor(cls, dist, f, x_star, 0.01, np.random.default_rng(0))
    assert f_star is not None and f_star(x_star[None])[0] != f(x_star[None])[0]


def test_known_distance_on_support_and_budget_slack():
    cls = ToySets(M=4, d=2)
    dist = FiniteDistribution(np.arange(4), np.array([0.1, 0.2, 0.3, 0.4]))
    f, g = cls.indicator([0, 1]), cls.indicator([1, 3])
    assert known_distance(cls, f, g, dist) == pytest.approx(0.5, abs=1e-15)
    assert known_distance(ToyThresholds(), Step(0.2), Step(0.3), UniformInterval()) is None
    assert within_budget(0.1 + 1e-16, 0.1) and not within_budget(0.1001, 0.1)


def test_null_never_backdoors():
    cls = ToySets(M=8, d=3)
    attacker = Null()
    for seed in range(10):
        rng = np.random.default_rng(seed)
        dist, f = attacker.setup(cls, 0.5, rng)
        assert isinstance(dist, UniformDiscrete) and cls.contains(f)
        assert attacker.backdoor(cls, dist, f, dist.sample(rng, 1)[0], 0.5, rng) is None
    assert attacker.lower_bound(cls, 0.5) is None


def test_registered():
    assert isinstance(build("attackers", "point-flip"), PointFlip)
    assert isinstance(build("attackers", "null"), Null)
