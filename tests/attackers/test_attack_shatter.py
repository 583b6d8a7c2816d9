"""The symmetric-shattering attacker L1 (THEORY.md §2.1, §4.2)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from defendability.attackers.shatter import Shatter, row_index
from defendability.budget import ceil_inverse, floor_inverse
from defendability.errors import ParameterError
from defendability.registry import build
from toys import ToySets


@pytest.mark.parametrize("eps,ceil_,floor_", [(1 / 12, 12, 12), (1 / 3, 3, 3), (0.3, 4, 3), (0.002, 500, 500),
                                               (1 / 7, 7, 7), (0.999, 2, 1), (1 / 49, 49, 49)])
def test_inverse_budgets_are_robust_to_float_error(eps, ceil_, floor_):
    assert ceil_inverse(eps) == ceil_ and floor_inverse(eps) == floor_


def test_row_index_finds_rows_and_scalars():
    assert row_index(np.array([[0, 1], [1, 1], [1, 1]]), np.array([1, 1])) == 1
    assert row_index(np.array([[0, 1]]), np.array([1, 0])) is None
    assert row_index(np.arange(5), np.int64(3)) == 3


@pytest.mark.parametrize("d,eps,m", [(5, 0.2, 5), (5, 1 / 3, 3), (5, 0.5, 2), (6, 0.9, 2), (12, 1 / 12, 12)])
def test_distribution_is_uniform_on_first_m_shattered_points(d, eps, m):
    cls = ToySets(M=d + 3, d=d)
    dist, f = Shatter().setup(cls, eps, np.random.default_rng(0))
    points, probs = dist.support()
    np.testing.assert_array_equal(points, np.arange(m))
    assert np.all(probs == probs[0]) and abs(probs.sum() - 1) < 1e-15 and abs(probs[0] - 1 / m) < 1e-15
    assert cls.contains(f)


def test_backdoor_flips_exactly_the_trigger_and_costs_one_over_m():
    cls, eps = ToySets(M=9, d=6), 0.25  # m = 4 <= d: valid
    attacker = Shatter()
    for seed in range(20):
        rng = np.random.default_rng(seed)
        dist, f = attacker.setup(cls, eps, rng)
        points, probs = dist.support()
        x_star = dist.sample(rng, 1)[0]
        f_star = attacker.backdoor(cls, dist, f, x_star, eps, rng)
        assert cls.contains(f_star)
        differ = f(points) != f_star(points)
        np.testing.assert_array_equal(differ, points == x_star)
        assert probs[differ].sum() == pytest.approx(1 / 4, abs=1e-15) and probs[differ].sum() <= eps + 1e-12


def test_no_backdoor_when_budget_is_below_one_over_d():
    cls, eps = ToySets(M=9, d=5), 0.19  # ceil(1/eps) = 6 > d = 5
    dist, f = Shatter().setup(cls, eps, np.random.default_rng(1))
    np.testing.assert_array_equal(dist.support()[0], np.arange(5))
    for x_star in range(5):
        assert Shatter().backdoor(cls, dist, f, np.int64(x_star), eps, np.random.default_rng(2)) is None


def test_backdoor_exists_at_exactly_one_over_d():
    cls = ToySets(M=9, d=5)
    dist, f = Shatter().setup(cls, 1 / 5, np.random.default_rng(1))
    assert Shatter().backdoor(cls, dist, f, np.int64(4), 1 / 5, np.random.default_rng(2)) is not None


def test_backdoored_pair_has_the_law_of_the_clean_pair():
    # Exact: over all labellings L of the m points and all triggers i, the map
    # (L, i) -> (labels of f*, i) must be a bijection, so (f*, x*) ~ (f, x).
    cls, eps = ToySets(M=6, d=4), 1 / 3
    dist, _ = Shatter().setup(cls, eps, np.random.default_rng(0))
    points = dist.support()[0]
    images = set()
    for labels in itertools.product((0, 1), repeat=len(points)):
        f = cls.realise(points, np.array(labels))
        for x_star in points:
            f_star = Shatter().backdoor(cls, dist, f, x_star, eps, np.random.default_rng(0))
            images.add((tuple(f_star(points).tolist()), int(x_star)))
    assert len(images) == 2 ** len(points) * len(points)


def test_labels_are_uniformly_random_and_come_from_the_rng():
    cls, eps = ToySets(M=8, d=3), 1 / 3
    seen = set()
    for seed in range(64):
        _, f = Shatter().setup(cls, eps, np.random.default_rng(seed))
        seen.add(tuple(f(np.arange(3)).tolist()))
    assert len(seen) == 8  # all labellings appear in 64 draws (miss probability < 1e-3)
    a = Shatter().setup(cls, eps, np.random.default_rng(5))[1]
    b = Shatter().setup(cls, eps, np.random.default_rng(5))[1]
    assert a == b


def test_lower_bound_is_one_from_one_over_d():
    cls = ToySets(M=20, d=10)
    assert Shatter().lower_bound(cls, 0.1) == 1.0
    assert Shatter().lower_bound(cls, 1 / 10) == 1.0
    assert Shatter().lower_bound(cls, 0.5) == 1.0
    assert Shatter().lower_bound(cls, 0.099) is None


def test_registered_and_class_without_shattered_points_is_refused():
    assert isinstance(build("attackers", "shatter"), Shatter)
    with pytest.raises(ParameterError, match="VC dimension 0"):
        Shatter().setup(ToySets(M=4, d=0), 0.5, np.random.default_rng(0))
