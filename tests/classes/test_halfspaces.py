"""Halfspaces on R^d."""

from __future__ import annotations

import numpy as np
import pytest
from class_contract import monte_carlo_interval
from scipy.stats import multivariate_normal, norm

from defendability.classes import Counted, HalfspaceFunction, Halfspaces
from defendability.classes.halfspaces import _orthant
from defendability.errors import ParameterError
from defendability.spaces import FiniteDistribution, Gaussian, UniformCube


def test_evaluation():
    f = HalfspaceFunction([1.0, -2.0], 0.5)
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.5, 1.0], [-0.5, 0.0]])
    out = f(x)
    assert out.dtype == np.uint8 and out.tolist() == [1, 0, 0, 0]  # the boundary is labelled 0
    assert HalfspaceFunction(np.zeros(2), -1.0)(x).tolist() == [0] * 4
    with pytest.raises(ValueError):
        f(np.zeros((3, 3)))


def test_contains():
    cls = Halfspaces(d=3)
    assert cls.contains(HalfspaceFunction(np.ones(3), 0.0))
    assert not cls.contains(HalfspaceFunction(np.ones(2), 0.0))
    assert not cls.contains(HalfspaceFunction([np.nan, 0, 0], 0.0))
    assert not cls.contains(HalfspaceFunction(np.ones(3), np.inf))


def test_margin_is_computed_not_cached():
    """``margin`` is a method reading ``w`` and ``b`` on every call, not a stored value;
    an instance attribute of that name (which calls would then use) is refused."""
    cls = Halfspaces(d=3)
    f = HalfspaceFunction(np.ones(3), 0.0)
    x = np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    f.margin(x)
    assert "margin" not in vars(f) and cls.contains(f)
    f.b = -2.0  # the labels follow the representation at once
    assert f(x).tolist() == [0, 0]
    f.margin = lambda z: np.ones(len(z))  # labels everything 1 whatever w and b say
    assert f(x).tolist() == [1, 1]
    assert not cls.contains(f) and not cls.contains(Counted(f))


def test_realise_general_points_or_fail():
    cls = Halfspaces(d=2)
    rng = np.random.default_rng(0)
    target = cls.random_member(rng)
    points = rng.standard_normal((30, 2))
    f = cls.realise(points, target(points))
    np.testing.assert_array_equal(f(points), target(points))
    # Radon: d + 2 = 4 points, the xor labelling is not linearly separable
    square = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ParameterError, match="separable"):
        cls.realise(square, np.array([1, 1, 0, 0]))


def test_orthant_matches_scipy():
    rng = np.random.default_rng(1)
    for _ in range(300):
        h, k = rng.normal(scale=2, size=2)
        if rng.random() < 0.2:
            h = 0.0
        angle = rng.uniform(0.01, np.pi - 0.01)
        rho = np.cos(angle)
        expected = multivariate_normal.cdf([h, k], mean=[0, 0], cov=[[1, rho], [rho, 1]])
        assert _orthant(h, k, angle) == pytest.approx(expected, abs=1e-12)
    assert _orthant(0.3, 0.5, 0.0) == norm.cdf(0.3)
    assert _orthant(0.3, 0.5, np.pi) == pytest.approx(norm.cdf(0.3) - norm.cdf(-0.5), abs=1e-15)
    assert _orthant(0.0, 0.0, np.pi / 2) == pytest.approx(0.25, abs=1e-15)


@pytest.mark.parametrize("dist", [Gaussian(3), Gaussian(3, mean=np.array([0.5, -1.0, 2.0]), scale=1.7)], ids=repr)
def test_exact_distance_agrees_with_monte_carlo(dist):
    cls = Halfspaces(d=3)
    rng = np.random.default_rng(2)
    pairs = [(cls.random_member(rng), cls.random_member(rng)) for _ in range(6)]
    f = cls.random_member(rng)
    pairs += [(f, HalfspaceFunction(f.w * 2.0, f.b + 0.3)),       # parallel
              (f, HalfspaceFunction(-f.w, -f.b + 0.2)),           # anti-parallel
              (f, HalfspaceFunction(np.zeros(3), 1.0)),           # a constant
              (HalfspaceFunction(np.zeros(3), -1.0), HalfspaceFunction(np.zeros(3), 1.0))]
    sampling = np.random.default_rng(20)  # its own stream: the draws do not depend on the members
    for f, g in pairs:
        exact = cls.exact_distance(f, g, dist)
        low, high = monte_carlo_interval(f, g, dist, sampling)
        assert low <= exact <= high, (f, g, exact, low, high)
        assert exact == pytest.approx(cls.exact_distance(g, f, dist), abs=1e-14)


def test_exact_distance_of_nearly_parallel_halfspaces():
    """Through the mean, two halfspaces at angle theta differ with probability theta/pi,
    even where the covariance of the orthant is numerically singular."""
    cls = Halfspaces(d=2)
    dist = Gaussian(2)
    for theta in (1e-9, 1e-6, 0.3, np.pi - 1e-7):
        f = HalfspaceFunction([1.0, 0.0], 0.0)
        g = HalfspaceFunction([np.cos(theta), np.sin(theta)], 0.0)
        assert cls.exact_distance(f, g, dist) == pytest.approx(theta / np.pi, rel=1e-6, abs=1e-15)
    assert cls.exact_distance(f, f, dist) == 0.0
    assert cls.exact_distance(f, f, UniformCube(2)) is None


def test_cheapest_flip_translates_the_hyperplane():
    cls = Halfspaces(d=4)
    dist = Gaussian(4, mean=np.array([0.2, 0.0, -0.3, 1.0]), scale=0.8)
    rng = np.random.default_rng(3)
    for _ in range(40):
        f = cls.random_member(rng)
        x = dist.sample(rng, 1)[0]
        g = cls.cheapest_flip(f, x, dist)
        assert cls.contains(g)
        assert g(x[None])[0] != f(x[None])[0]
        np.testing.assert_array_equal(g.w, f.w)
        # the slab between the hyperplanes, exactly; every other flipping translate is farther
        t = lambda h: (h.w @ dist.mean + h.b) / (dist.scale * np.linalg.norm(h.w))
        assert cls.exact_distance(f, g, dist) == pytest.approx(abs(norm.cdf(t(f)) - norm.cdf(t(g))), abs=1e-13)
        margin = float(x @ f.w)
        for shift in (1e-3, 0.1, 1.0):
            b = -margin - shift if f(x[None])[0] == 1 else -margin + shift
            other = HalfspaceFunction(f.w, b)
            assert other(x[None])[0] != f(x[None])[0]
            assert cls.exact_distance(f, g, dist) <= cls.exact_distance(f, other, dist) + 1e-15


def test_cheapest_flip_of_a_constant():
    cls = Halfspaces(d=2)
    dist = Gaussian(2, mean=np.array([1.0, 1.0]), scale=2.0)
    x = np.array([4.0, 5.0])  # |x - mean| = 5
    for b in (1.0, -1.0):
        f = HalfspaceFunction(np.zeros(2), b)
        g = cls.cheapest_flip(f, x, dist)
        assert g(x[None])[0] != f(x[None])[0]
        assert cls.exact_distance(f, g, dist) == pytest.approx(norm.cdf(-5.0 / 2.0), rel=1e-9)
    g = cls.cheapest_flip(HalfspaceFunction(np.zeros(2), 1.0), dist.mean, dist)
    assert cls.exact_distance(HalfspaceFunction(np.zeros(2), 1.0), g, dist) == pytest.approx(0.5, abs=1e-12)


def test_cheapest_flip_elsewhere_still_flips():
    cls = Halfspaces(d=2)
    points = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    dist = FiniteDistribution(points, np.full(3, 1 / 3))
    f = HalfspaceFunction([1.0, 1.0], -0.5)
    for x in points:
        assert cls.cheapest_flip(f, x, dist)(x[None])[0] != f(x[None])[0]


@pytest.mark.parametrize("d", [1, 3, 8])
def test_fit_member_is_consistent_on_realisable_batches(d):
    cls = Halfspaces(d=d)
    rng = np.random.default_rng(d)
    for m in (1, 5, 40, 150):
        for _ in range(3):
            target = cls.random_member(rng)
            X = rng.standard_normal((m, d))
            f = cls.fit_member(X, target(X))
            assert cls.contains(f)
            np.testing.assert_array_equal(f(X), target(X))
    X = rng.standard_normal((10, d))
    assert cls.fit_member(X, np.ones(10)) == HalfspaceFunction(np.zeros(d), 1.0)
    assert cls.fit_member(X, np.zeros(10)) == HalfspaceFunction(np.zeros(d), -1.0)


@pytest.mark.parametrize("d", [1, 2, 8])
def test_fit_member_is_consistent_on_larger_realisable_batches(d):
    cls = Halfspaces(d=d)
    rng = np.random.default_rng(100 + d)
    for _ in range(10):
        target = cls.random_member(rng)
        X = rng.standard_normal((400, d))
        np.testing.assert_array_equal(cls.fit_member(X, target(X))(X), target(X))


def test_fit_member_is_fast_on_non_separable_batches():
    """The Boltzmann cover refits g-labelled samples with 1 to 3 labels flipped: the fit
    must stay bounded in time there (a kernel SVC with C=1e6 took minutes)."""
    import time

    cls = Halfspaces(d=2)
    rng = np.random.default_rng(0)
    target = cls.random_member(rng)
    start = time.perf_counter()
    for _ in range(50):
        X = rng.standard_normal((400, 2))
        Y = target(X)
        Y[rng.choice(400, size=3, replace=False)] ^= 1
        f = cls.fit_member(X, Y)
        assert cls.contains(f)
        assert np.count_nonzero(f(X) != Y) <= 40  # a sensible soft-margin fit
    assert time.perf_counter() - start < 10.0
