"""Unions of at most k intervals, and thresholds, on the real line."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from class_contract import (
    brute_closure,
    labelling_matrix,
    monte_carlo_interval,
    support_distance,
)
from toys import brute_force_vc

from defendability.classes import (
    Intervals,
    IntervalUnion,
    ThresholdFunction,
    Thresholds,
)
from defendability.errors import ParameterError
from defendability.spaces import (
    Distribution,
    FiniteDistribution,
    Gaussian,
    UniformInterval,
)


def runs(labels: np.ndarray) -> int:
    return int(np.count_nonzero(np.diff(np.concatenate([[0], labels, [0]])) == 1))


def test_canonical_representation():
    f = IntervalUnion([(0.5, 0.7), (0.1, 0.2), (0.2, 0.3), (0.6, 0.9)])
    assert f.bounds.tolist() == [[0.1, 0.3], [0.5, 0.9]]
    assert f == IntervalUnion([(0.1, 0.3), (0.5, 0.9)])
    assert f != IntervalUnion([(0.1, 0.3), (0.5, 0.8)])
    x = np.array([0.1, 0.3, 0.31, 0.5, 0.9, 0.95, -np.inf])
    assert f(x).tolist() == [1, 1, 0, 1, 1, 0, 0]
    assert IntervalUnion([(-np.inf, 0.0)])(np.array([-1e300, 0.0, 1e-300])).tolist() == [1, 1, 0]
    assert IntervalUnion([])(np.array([0.5])).tolist() == [0]
    with pytest.raises(ValueError):
        IntervalUnion([(0.3, 0.2)])


def test_vc_dimension_upper_bound():
    """2k + 1 points with alternating labels need k + 1 intervals; every labelling of
    2k + 1 points with at most k runs is realised (so VC = 2k on those points)."""
    for k in (1, 2, 3):
        cls = Intervals(k=k)
        points = np.linspace(0, 1, 2 * k + 1)
        alternating = (np.arange(2 * k + 1) % 2 == 0).astype(np.uint8)
        with pytest.raises(ParameterError, match=f"k={k}"):
            cls.realise(points, alternating)
        patterns = [np.array(p, dtype=np.uint8) for p in itertools.product((0, 1), repeat=2 * k + 1)
                    if runs(np.array(p)) <= k]
        labels = labelling_matrix([cls.realise(points, p) for p in patterns], points)
        assert brute_force_vc(labels)[0] == 2 * k
    with pytest.raises(ParameterError):
        Thresholds().realise(np.array([0.2, 0.6]), np.array([1, 0]))


def test_contains():
    cls = Intervals(k=2)
    assert cls.contains(IntervalUnion([(0, 1), (2, 3)]))
    assert not cls.contains(IntervalUnion([(0, 1), (2, 3), (4, 5)]))
    assert not cls.contains(ThresholdFunction(0.5))
    forged = IntervalUnion([(0, 1)])
    forged.bounds = np.array([[1.0, 0.0]])
    assert not cls.contains(forged)
    assert Thresholds().contains(ThresholdFunction(np.inf))
    assert not Thresholds().contains(IntervalUnion([(0, np.inf)]))


DISTRIBUTIONS = [UniformInterval(0, 1), UniformInterval(-1, 3), Gaussian(0, mean=0.3, scale=0.5)]


@pytest.mark.parametrize("dist", DISTRIBUTIONS, ids=repr)
def test_exact_distance_agrees_with_monte_carlo(dist):
    rng = np.random.default_rng(0)
    for cls in (Intervals(k=1), Intervals(k=3), Thresholds()):
        for _ in range(4):
            f, g = cls.random_member(rng), cls.random_member(rng)
            exact = cls.exact_distance(f, g, dist)
            low, high = monte_carlo_interval(f, g, dist, rng)
            assert low <= exact <= high, (cls, f, g, exact, low, high)


def test_exact_distance_closed_forms():
    cls = Intervals(k=2)
    u = UniformInterval(0, 1)
    f, g = IntervalUnion([(0.2, 0.5)]), IntervalUnion([(0.4, 0.9)])
    assert cls.exact_distance(f, g, u) == pytest.approx(0.2 + 0.4, abs=1e-15)
    assert cls.exact_distance(f, f, u) == 0.0
    # a degenerate interval has mass 0 under a continuous distribution
    assert cls.exact_distance(f, IntervalUnion([(0.2, 0.5), (0.7, 0.7)]), u) == 0.0
    whole = IntervalUnion([(-np.inf, np.inf)])
    gauss = Gaussian(0, mean=1.0, scale=2.0)
    from scipy.stats import norm
    expected = 1 - (norm.cdf(0.5, 1, 2) - norm.cdf(0.2, 1, 2))
    assert cls.exact_distance(f, whole, gauss) == pytest.approx(expected, rel=1e-12)
    assert Thresholds().exact_distance(ThresholdFunction(0.25), ThresholdFunction(np.inf), u) == 0.75
    assert cls.exact_distance(f, g, FiniteDistribution(np.array([0.3]), np.ones(1))) is None
    assert cls.exact_distance(f, g, Gaussian(2)) is None


def brute_flip_cost(f, x: float, dist: FiniteDistribution, k: int) -> float:
    """Least Pr[f != g] over every labelling g of the support and x with at most k runs
    and g(x) != f(x): each such labelling is realised by at most k intervals."""
    points, probs = dist.support()
    grid = np.unique(np.append(points.astype(float), x))
    weight = np.array([probs[points == p].sum() for p in grid])
    f_grid = f(grid)
    at_x = int(np.flatnonzero(grid == x)[0])
    best = math.inf
    for pattern in itertools.product((0, 1), repeat=len(grid)):
        pattern = np.array(pattern, dtype=np.uint8)
        if pattern[at_x] == f_grid[at_x] or runs(pattern) > k:
            continue
        best = min(best, math.fsum(weight[pattern != f_grid].tolist()))
    return best


@pytest.mark.parametrize("k", [1, 2, 3])
def test_cheapest_flip_is_exact_on_finite_supports(k):
    cls = Intervals(k=k)
    rng = np.random.default_rng(k)
    for _ in range(200):
        m = int(rng.integers(2, 7))
        points = np.sort(rng.choice(np.linspace(0, 1, 21), size=m, replace=False))
        probs = rng.dirichlet(np.ones(m))
        dist = FiniteDistribution(points, probs)
        ends = np.sort(rng.choice(np.linspace(0.025, 0.975, 20), size=2 * int(rng.integers(0, k + 1)), replace=False))
        f = IntervalUnion(ends.reshape(-1, 2))
        x = float(points[rng.integers(m)] if rng.random() < 0.7 else rng.choice(np.linspace(0.0125, 0.9875, 40)))
        g = cls.cheapest_flip(f, np.float64(x), dist)
        assert cls.contains(g)
        assert g(np.array([x]))[0] != f(np.array([x]))[0]
        assert support_distance(f, g, dist) == pytest.approx(brute_flip_cost(f, x, dist, k), abs=1e-12)


@pytest.mark.parametrize("k, bounds, x, expected", [
    (1, [(0.2, 0.6)], 0.7, 0.1),            # extend right
    (1, [(0.2, 0.6)], 0.1, 0.1),            # extend left
    (1, [(0.2, 0.6)], 0.3, 0.1),            # shrink from the nearer (left) side
    (1, [(0.2, 0.6)], 0.55, 0.05),          # shrink from the right
    (2, [(0.2, 0.6)], 0.3, 0.0),            # room to cut x out
    (2, [(0.2, 0.6)], 0.8, 0.0),            # room to add [x, x]
    (2, [(0.1, 0.2), (0.5, 0.9)], 0.3, 0.1),   # extend the left neighbour
    (2, [(0.1, 0.2), (0.22, 0.9)], 0.95, 0.02),  # merge the narrow gap, add [x, x]
    (2, [(0.1, 0.12), (0.5, 0.9)], 0.3, 0.02),   # drop the light interval, add [x, x]
    (2, [(0.1, 0.4), (0.45, 0.9)], 0.3, 0.05),   # cut x out, merge the narrow gap
])
def test_cheapest_flip_under_the_uniform_distribution(k, bounds, x, expected):
    cls = Intervals(k=k)
    dist = UniformInterval(0, 1)
    f = IntervalUnion(bounds)
    g = cls.cheapest_flip(f, np.float64(x), dist)
    assert cls.contains(g) and g(np.array([x]))[0] != f(np.array([x]))[0]
    assert cls.exact_distance(f, g, dist) == pytest.approx(expected, abs=1e-12)


class Exponential(Distribution):
    """A distribution with neither a finite support nor a closed form the class knows."""

    def sample(self, rng, size):
        return rng.exponential(1.0, size=size)


def test_cheapest_flip_ranks_by_a_sample_elsewhere():
    cls = Intervals(k=1)
    f = IntervalUnion([(0.0, 1.0)])
    g = cls.cheapest_flip(f, np.float64(4.0), Exponential())
    # extending [0, 1] to 4 costs e^-1 - e^-4 ~ 0.35, dropping it for [4, 4] 1 - e^-1 ~ 0.63
    assert g == IntervalUnion([(0.0, 4.0)])


def test_threshold_cheapest_flip_is_exact():
    cls = Thresholds()
    rng = np.random.default_rng(5)
    points = np.linspace(0, 1, 9)
    dist = FiniteDistribution(points, rng.dirichlet(np.ones(9)))
    members = [ThresholdFunction(t) for t in np.concatenate([[-np.inf], points, [np.inf], points + 0.01])]
    for f in members:
        for x in points:
            g = cls.cheapest_flip(f, x, dist)
            fx = f(np.array([x]))[0]
            assert g(np.array([x]))[0] != fx
            best = min(support_distance(f, h, dist) for h in members if h(np.array([x]))[0] != fx)
            assert support_distance(f, g, dist) == pytest.approx(best, abs=1e-12)
    u = UniformInterval(0, 1)
    assert cls.exact_distance(ThresholdFunction(0.3), cls.cheapest_flip(ThresholdFunction(0.3), 0.7, u), u) \
        == pytest.approx(0.4, abs=1e-12)


def grid_members(grid: np.ndarray) -> list[IntervalUnion]:
    return [IntervalUnion([])] + [IntervalUnion([(a, b)]) for a, b in itertools.combinations_with_replacement(grid, 2)]


@pytest.mark.parametrize("cls", [Intervals(k=1), Thresholds()], ids=repr)
def test_closure_predict_equals_the_brute_force_closure(cls):
    grid = np.linspace(0, 1, 8)
    if isinstance(cls, Thresholds):
        members = [ThresholdFunction(t) for t in np.append(grid, np.inf)]
    else:
        members = grid_members(grid)
    labels = labelling_matrix(members, grid)
    rng = np.random.default_rng(6)
    V, k = 12, 4
    X = rng.choice(grid, size=(V, k))
    targets = [members[i] for i in rng.integers(len(members), size=V)]
    Y = np.stack([t(X[v]) for v, t in enumerate(targets)])
    out = cls.closure_predict(X, Y, grid)
    assert out.dtype == np.uint8 and out.shape == (V, len(grid))
    for v in range(V):
        positives = np.flatnonzero(np.isin(grid, X[v][Y[v] == 1]))
        np.testing.assert_array_equal(out[v], brute_closure(labels, positives))


def test_closure_needs_intersection_closure():
    with pytest.raises(TypeError, match="k=2"):
        Intervals(k=2).closure_predict(np.zeros((1, 2)), np.zeros((1, 2)), np.zeros(1))


@pytest.mark.parametrize("k", [1, 2, 4])
def test_fit_member_is_consistent_on_realisable_batches(k):
    cls = Intervals(k=k)
    rng = np.random.default_rng(k)
    for m in (0, 1, 10, 60):
        target = cls.random_member(rng)
        X = rng.random(m)
        f = cls.fit_member(X, target(X))
        assert cls.contains(f)
        np.testing.assert_array_equal(f(X), target(X))


def test_fit_member_merges_across_the_fewest_negatives():
    X = np.arange(10.0)
    Y = np.array([1, 0, 0, 0, 1, 1, 0, 1, 0, 0])
    # three runs; the gap holding one negative (at 6) is merged first
    f = Intervals(k=2).fit_member(X, Y)
    assert f.bounds.tolist() == [[0.0, 0.0], [4.0, 7.0]]
    assert Intervals(k=1).fit_member(X, Y).bounds.tolist() == [[0.0, 7.0]]


def test_threshold_fit_member_is_an_exact_risk_minimiser():
    cls = Thresholds()
    rng = np.random.default_rng(7)
    for _ in range(50):
        X = np.round(rng.random(15), 1)  # ties between points
        Y = rng.integers(0, 2, size=15)
        f = cls.fit_member(X, Y)
        candidates = [ThresholdFunction(t) for t in np.append(X, [np.inf, -np.inf])]
        best = min(int(np.count_nonzero(h(X) != Y)) for h in candidates)
        assert int(np.count_nonzero(f(X) != Y)) == best
    target = ThresholdFunction(0.4)
    X = rng.random(30)
    assert cls.fit_member(X, target(X)).theta == X[X >= 0.4].min()
