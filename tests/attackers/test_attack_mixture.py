"""The mixture attacker L2 (THEORY.md §2.1, §4.2)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from defendability.attackers.mixture import Mixture
from defendability.registry import build
from toys import ToySets


@pytest.mark.parametrize("d,eps,m,rest", [
    (5, 0.1, 4, 0.6),        # THEORY's regime: eps <= 1/(d-1)
    (5, 0.25, 4, 0.0),       # the d-1 atoms fill the distribution: t_d is omitted
    (5, 0.3, 3, 0.1),        # beyond the regime: m = floor(1/eps) < d-1
    (10, 1 / 3, 3, 0.0),
    (3, 0.001, 2, 0.998),
])
def test_masses_are_eps_on_m_points_and_the_rest_on_the_last(d, eps, m, rest):
    cls = ToySets(M=d + 2, d=d)
    dist, f = Mixture().setup(cls, eps, np.random.default_rng(0))
    points, probs = dist.support()
    expected_points = list(range(m)) + ([d - 1] if rest > 0 else [])
    np.testing.assert_array_equal(points, expected_points)
    np.testing.assert_allclose(probs[:m], eps, rtol=1e-12)
    if rest > 0:
        assert probs[m] == pytest.approx(rest, abs=1e-12)
    assert cls.contains(f)
    assert f(np.array([d - 1]))[0] == 0


def test_backdoor_is_none_exactly_at_the_heavy_point():
    cls, eps = ToySets(M=8, d=5), 0.1
    attacker = Mixture()
    for seed in range(10):
        rng = np.random.default_rng(seed)
        dist, f = attacker.setup(cls, eps, rng)
        points, probs = dist.support()
        for x_star in points:
            f_star = attacker.backdoor(cls, dist, f, x_star, eps, rng)
            if x_star == 4:
                assert f_star is None
                continue
            assert cls.contains(f_star)
            differ = f(points) != f_star(points)
            np.testing.assert_array_equal(differ, points == x_star)
            assert probs[differ].sum() <= eps + 1e-12


def test_labels_on_light_points_are_random():
    cls, eps = ToySets(M=6, d=3), 0.1
    seen = {tuple(Mixture().setup(cls, eps, np.random.default_rng(s))[1](np.arange(2)).tolist()) for s in range(40)}
    assert seen == {(0, 0), (0, 1), (1, 0), (1, 1)}


def test_flip_is_a_bijection_on_the_light_points():
    # Conditioned on x in {t_1..t_m}, (f*, x*) ~ (f, x): the flip map is a bijection.
    cls, eps = ToySets(M=6, d=4), 0.2
    dist, _ = Mixture().setup(cls, eps, np.random.default_rng(0))
    points = dist.support()[0]
    light = points[:-1]
    images = set()
    for labels in itertools.product((0, 1), repeat=len(light)):
        f = cls.realise(points, np.array(labels + (0,)))
        for x_star in light:
            f_star = Mixture().backdoor(cls, dist, f, x_star, eps, np.random.default_rng(0))
            images.add((tuple(f_star(light).tolist()), int(x_star)))
    assert len(images) == 2 ** len(light) * len(light)


@pytest.mark.parametrize("d,eps,bound", [(10, 0.01, 0.09), (20, 0.002, 0.038), (5, 0.3, 0.9), (5, 0.25, 1.0),
                                         (1, 0.1, 0.0)])
def test_lower_bound_is_m_eps(d, eps, bound):
    assert Mixture().lower_bound(ToySets(M=d + 1, d=d), eps) == pytest.approx(bound, abs=1e-12)


def test_vc_one_class_has_no_backdoor_at_all():
    cls = ToySets(M=3, d=1)
    dist, f = Mixture().setup(cls, 0.1, np.random.default_rng(0))
    points, probs = dist.support()
    np.testing.assert_array_equal(points, [0])
    np.testing.assert_array_equal(probs, [1.0])
    assert Mixture().backdoor(cls, dist, f, np.int64(0), 0.1, np.random.default_rng(0)) is None


def test_registered():
    assert isinstance(build("attackers", "mixture"), Mixture)


def test_declines_at_the_heavy_point_even_when_a_flip_there_is_cheap():
    """eps > 1/d: the mass 1 - m*eps at t_d is below eps, so a flip there would fit the
    budget; the attacker still declines there, by design (t_d's label stays 0)."""
    cls, eps = ToySets(M=5, d=3), 0.4  # m = 2, mass at t_d = 0.2 < eps
    attacker = Mixture()
    rng = np.random.default_rng(0)
    dist, f = attacker.setup(cls, eps, rng)
    points, probs = dist.support()
    assert points[-1] == 2 and probs[-1] == pytest.approx(0.2) and probs[-1] < eps
    assert attacker.backdoor(cls, dist, f, points[-1], eps, rng) is None
