"""Subsets of [N] of size <= d."""

from __future__ import annotations

import math

import numpy as np
import pytest
from class_contract import (
    LEVEL,
    brute_closure,
    labelling_matrix,
    support_distance,
)
from scipy.stats import binomtest
from toys import brute_force_vc, is_shattered

from defendability.classes import SubsetFunction, Subsets
from defendability.classes import subsets as subsets_module
from defendability.errors import ParameterError
from defendability.spaces import FiniteDistribution, Gaussian, UniformDiscrete


def all_members(cls: Subsets) -> list[SubsetFunction]:
    return list(cls.members())


def test_vc_dimension_by_brute_force():
    cls = Subsets(N=6, d=2)
    labels = labelling_matrix(all_members(cls), np.arange(6))
    vc, _ = brute_force_vc(labels)
    assert vc == cls.vc_dimension == 2
    assert is_shattered(labels, cls.shattered_set())


def test_size_and_members_agree():
    cls = Subsets(N=7, d=3)
    members = all_members(cls)
    assert len(members) == cls.size() == 1 + 7 + 21 + 35
    assert len(set(members)) == len(members)
    assert all(cls.contains(f) for f in members)
    assert Subsets(N=64, d=16).members() is None
    assert Subsets(N=64, d=16).size() == sum(math.comb(64, j) for j in range(17))


def test_random_member_is_uniform_over_members():
    cls = Subsets(N=5, d=2)
    rng = np.random.default_rng(0)
    n = 16_000
    counts: dict[tuple, int] = {}
    for _ in range(n):
        key = cls.random_member(rng).key()
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == cls.size() == 16
    for c in counts.values():
        ci = binomtest(c, n).proportion_ci(confidence_level=1 - (1 - LEVEL) / 16, method="wilson")
        assert ci.low <= 1 / 16 <= ci.high


def test_random_member_of_a_huge_class_is_valid():
    cls = Subsets(N=5000, d=2500)
    f = cls.random_member(np.random.default_rng(1))
    assert cls.contains(f)
    # the size is concentrated near d (the largest binomial weights): far from 0
    assert len(f) > 2000


def test_evaluation_conventions():
    f = SubsetFunction([4, 1, 4], N=6)
    assert f.elements.tolist() == [1, 4]
    out = f(np.array([0, 1, 4, 5, -1, 6, 100]))
    assert out.dtype == np.uint8
    assert out.tolist() == [0, 1, 1, 0, 0, 0, 0]
    assert f(np.array([1.0, 2.0])).tolist() == [1, 0]
    with pytest.raises(ValueError):
        f(np.array([1.5]))
    with pytest.raises(ValueError):
        SubsetFunction([6], N=6)


def test_contains_checks_n_size_and_range():
    cls = Subsets(N=6, d=2)
    assert cls.contains(SubsetFunction([0, 5], N=6))
    assert not cls.contains(SubsetFunction([0, 5], N=7))
    assert not cls.contains(SubsetFunction([0, 1, 2], N=6))
    forged = SubsetFunction([1], N=6)
    forged.elements = np.array([-1])
    assert not cls.contains(forged)
    forged.elements = np.array([3, 1])
    assert not cls.contains(forged)


def test_realise_any_points_and_reject_too_many_positives():
    cls = Subsets(N=10, d=3)
    f = cls.realise(np.array([9, 2, 7, 4]), np.array([1, 0, 1, 0]))
    assert f.elements.tolist() == [7, 9]
    with pytest.raises(ParameterError, match="d=3"):
        cls.realise(np.arange(4), np.ones(4))
    with pytest.raises(ParameterError, match="both"):
        cls.realise(np.array([1, 1]), np.array([0, 1]))
    with pytest.raises(ParameterError, match="N=10"):
        cls.member([10])


@pytest.mark.parametrize("seed", range(3))
def test_cheapest_flip_is_exact_on_finite_distributions(seed):
    cls = Subsets(N=6, d=2)
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(6))
    probs[rng.integers(6)] = 0.0  # a point of mass 0: the flip there is free
    dists = [FiniteDistribution(np.arange(6), probs / probs.sum()), UniformDiscrete(6)]
    members = all_members(cls)
    for dist in dists:
        for f in members:
            for x in range(6):
                g = cls.cheapest_flip(f, np.int64(x), dist)
                assert cls.contains(g)
                assert g(np.array([x]))[0] != f(np.array([x]))[0]
                best = min(support_distance(f, h, dist) for h in members
                           if h(np.array([x]))[0] != f(np.array([x]))[0])
                assert support_distance(f, g, dist) == pytest.approx(best, abs=1e-15)


def test_cheapest_flip_drops_the_lightest_element_when_full():
    cls = Subsets(N=5, d=2)
    dist = FiniteDistribution(np.arange(5), np.array([0.1, 0.3, 0.2, 0.25, 0.15]))
    g = cls.cheapest_flip(cls.member([1, 2]), 4, dist)
    assert g.elements.tolist() == [1, 4]


def test_cheapest_flip_without_a_member_or_masses():
    cls = Subsets(N=5, d=2)
    f = cls.member([1, 2])
    assert cls.cheapest_flip(f, 7, UniformDiscrete(5)) is None
    # removing or adding needs no masses; dropping the lightest element does
    assert cls.cheapest_flip(f, 1, Gaussian(0)).elements.tolist() == [2]
    assert cls.cheapest_flip(cls.member([1]), 3, Gaussian(0)).elements.tolist() == [1, 3]
    assert cls.cheapest_flip(f, 3, Gaussian(0)) is None


def test_closure_predict_equals_the_brute_force_closure():
    cls = Subsets(N=7, d=3)
    labels = labelling_matrix(all_members(cls), np.arange(7))
    rng = np.random.default_rng(4)
    V, k = 9, 5
    targets = [cls.random_member(rng) for _ in range(V)]
    X = rng.integers(0, 7, size=(V, k))
    Y = np.stack([t(X[v]) for v, t in enumerate(targets)])
    queries = np.array([-1, 0, 1, 2, 3, 4, 5, 6, 7])
    out = cls.closure_predict(X, Y, queries)
    assert out.dtype == np.uint8 and out.shape == (V, len(queries))
    assert np.all(out[:, [0, -1]] == 0)
    for v in range(V):
        expected = brute_closure(labels, np.unique(X[v][Y[v] == 1]))
        np.testing.assert_array_equal(out[v, 1:-1], expected)


def test_closure_predict_in_chunks(monkeypatch):
    cls = Subsets(N=50, d=10)
    rng = np.random.default_rng(5)
    X = rng.integers(0, 50, size=(40, 8))
    Y = rng.integers(0, 2, size=(40, 8))
    queries = rng.integers(0, 50, size=30)
    whole = cls.closure_predict(X, Y, queries)
    monkeypatch.setattr(subsets_module, "_CHUNK", 7)  # several voters per chunk, not all
    np.testing.assert_array_equal(cls.closure_predict(X, Y, queries), whole)
    direct = np.array([[int(np.any((X[v] == q) & (Y[v] == 1))) for q in queries] for v in range(40)])
    np.testing.assert_array_equal(whole, direct)


def test_fit_member_is_consistent_on_realisable_batches():
    cls = Subsets(N=30, d=6)
    rng = np.random.default_rng(6)
    for _ in range(30):
        target = cls.random_member(rng)
        X = rng.integers(0, 30, size=25)
        f = cls.fit_member(X, target(X))
        assert cls.contains(f)
        np.testing.assert_array_equal(f(X), target(X))


def test_fit_member_is_an_exact_risk_minimiser_on_noisy_batches():
    cls = Subsets(N=6, d=2)
    members = all_members(cls)
    rng = np.random.default_rng(7)
    for _ in range(40):
        X = rng.integers(0, 6, size=12)
        Y = rng.integers(0, 2, size=12)
        f = cls.fit_member(X, Y)
        best = min(int(np.count_nonzero(h(X) != Y)) for h in members)
        assert int(np.count_nonzero(f(X) != Y)) == best
