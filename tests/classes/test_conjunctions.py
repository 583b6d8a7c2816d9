"""Conjunctions of literals over {0,1}^n."""

from __future__ import annotations

import numpy as np
import pytest
from class_contract import (
    brute_closure,
    labelling_matrix,
    support_distance,
)
from toys import brute_force_vc

from defendability.classes import ConjunctionFunction, Conjunctions
from defendability.errors import ParameterError
from defendability.spaces import FiniteDistribution, Gaussian, UniformCube


def cube(n: int) -> np.ndarray:
    return UniformCube(n).support()[0]


def conj(n: int, pos=(), neg=()) -> ConjunctionFunction:
    p, q = np.zeros(n, bool), np.zeros(n, bool)
    p[list(pos)], q[list(neg)] = True, True
    return ConjunctionFunction(p, q)


@pytest.mark.parametrize("n, vc", [(1, 2), (2, 2), (3, 3), (4, 4)])
def test_vc_dimension_by_brute_force(n, vc):
    cls = Conjunctions(n=n)
    labels = labelling_matrix(list(cls.members()), cube(n))
    assert brute_force_vc(labels)[0] == cls.vc_dimension == vc


def test_members_are_the_distinct_functions():
    cls = Conjunctions(n=4)
    members = list(cls.members())
    labels = labelling_matrix(members, cube(4))
    assert len(members) == cls.size() == 3 ** 4 + 1
    assert len(np.unique(labels, axis=0)) == len(members)
    assert Conjunctions(n=12).members() is None


def test_evaluation_and_representation():
    f = conj(4, pos=[0], neg=[2])
    x = cube(4)
    np.testing.assert_array_equal(f(x), ((x[:, 0] == 1) & (x[:, 2] == 0)).astype(np.uint8))
    assert f(x).dtype == np.uint8
    assert conj(4)(x).tolist() == [1] * 16
    zero = conj(4, pos=[1], neg=[1])
    assert zero.contradictory and zero(x).tolist() == [0] * 16
    assert zero != ConjunctionFunction.zero(4)  # same function, different representation
    assert repr(f) == "ConjunctionFunction(x0 & !x2)"


def test_contains_checks_shapes():
    cls = Conjunctions(n=3)
    assert cls.contains(conj(3, pos=[0]))
    assert not cls.contains(conj(4, pos=[0]))
    forged = conj(3)
    forged.pos = np.array([1, 0, 0], dtype=np.uint8)
    assert not cls.contains(forged)


def test_realise_on_the_shattered_set_uses_positive_literals():
    cls = Conjunctions(n=5)
    T = cls.shattered_set()
    labels = np.array([1, 0, 1, 0, 0])
    f = cls.realise(T[[0, 1, 3]], labels[[0, 1, 3]])
    assert f.pos.tolist() == [False, True, False, True, False] and not f.neg.any()


def test_realise_general_points_or_fail():
    cls = Conjunctions(n=2)
    x = cube(2)  # 00, 10, 01, 11 (bit i of the code at position i)
    f = cls.realise(x[[0, 1]], np.array([0, 1]))
    assert f(x[[0, 1]]).tolist() == [0, 1]
    xor = (x[:, 0] ^ x[:, 1]).astype(np.uint8)
    with pytest.raises(ParameterError, match="no conjunction"):
        cls.realise(x, xor)


def test_exact_distance_agrees_with_enumeration():
    cls = Conjunctions(n=5)
    dist = UniformCube(5)
    rng = np.random.default_rng(0)
    members = [cls.random_member(rng) for _ in range(25)] + [conj(5, pos=[0, 3], neg=[3]), conj(5)]
    for f in members:
        for g in members[::3]:
            assert cls.exact_distance(f, g, dist) == support_distance(f, g, dist)
    assert cls.exact_distance(members[0], members[1], FiniteDistribution(cube(5)[:2], np.full(2, 0.5))) is None


def distance_table(members, dist) -> np.ndarray:
    points, probs = dist.support()
    labels = labelling_matrix(members, points)
    return (labels[:, None, :] != labels[None, :, :]) @ probs


@pytest.mark.parametrize("n", [3, 4])
def test_cheapest_flip_under_the_uniform_cube_is_exact(n):
    cls = Conjunctions(n=n)
    dist = UniformCube(n)
    members = list(cls.members()) + [conj(n, pos=[0], neg=[0, 1])]
    points = cube(n)
    labels = labelling_matrix(members, points)
    distances = distance_table(members, dist)
    for i, f in enumerate(members):
        for j, x in enumerate(points):
            g = cls.cheapest_flip(f, x, dist)
            assert cls.contains(g) and g(x[None])[0] != labels[i, j]
            best = distances[i][labels[:, j] != labels[i, j]].min()
            assert cls.exact_distance(f, g, dist) == best, (f, x, g)


def test_cheapest_flip_prefers_the_minterm_when_two_literals_fail():
    """Dropping both violated literals of x0 & x1 at x = 000 costs 3/4; the minterm
    !x0 & !x1 & !x2 costs 1/4 + 1/8."""
    cls = Conjunctions(n=3)
    dist = UniformCube(3)
    f = conj(3, pos=[0, 1])
    g = cls.cheapest_flip(f, np.zeros(3, np.uint8), dist)
    assert g == conj(3, neg=[0, 1, 2])
    assert cls.exact_distance(f, g, dist) == 0.375


@pytest.mark.parametrize("seed", range(2))
def test_cheapest_flip_on_other_finite_distributions_is_exact(seed):
    cls = Conjunctions(n=3)
    rng = np.random.default_rng(seed)
    points = cube(3)[rng.permutation(8)[:5]]
    dist = FiniteDistribution(points, rng.dirichlet(np.ones(5)))
    members = list(cls.members())
    for f in members[::2]:
        for x in cube(3):
            g = cls.cheapest_flip(f, x, dist)
            fx = f(x[None])[0]
            assert g(x[None])[0] != fx
            best = min(support_distance(f, h, dist) for h in members if h(x[None])[0] != fx)
            assert support_distance(f, g, dist) == pytest.approx(best, abs=1e-12)
    assert cls.cheapest_flip(members[0], cube(3)[0], Gaussian(3)) is None


def test_closure_predict_equals_the_brute_force_closure():
    cls = Conjunctions(n=4)
    points = cube(4)
    labels = labelling_matrix(list(cls.members()), points)
    rng = np.random.default_rng(2)
    V, k = 15, 6
    idx = rng.integers(0, 16, size=(V, k))
    X = points[idx]
    targets = [cls.random_member(rng) if v % 3 else conj(4, pos=[v % 4]) for v in range(V)]
    Y = np.stack([t(X[v]) for v, t in enumerate(targets)])
    out = cls.closure_predict(X, Y, points)
    assert out.dtype == np.uint8 and out.shape == (V, 16)
    for v in range(V):
        np.testing.assert_array_equal(out[v], brute_closure(labels, np.unique(idx[v][Y[v] == 1])))


@pytest.mark.parametrize("n", [3, 10])
def test_fit_member_is_consistent_on_realisable_batches(n):
    cls = Conjunctions(n=n)
    rng = np.random.default_rng(n)
    for m in (0, 5, 40):
        for _ in range(5):
            target = cls.random_member(rng)
            X = rng.integers(0, 2, size=(m, n), dtype=np.uint8)
            f = cls.fit_member(X, target(X))
            assert cls.contains(f)
            np.testing.assert_array_equal(f(X), target(X))
