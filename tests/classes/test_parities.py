"""Parities over GF(2)^n."""

from __future__ import annotations

import numpy as np
import pytest
from class_contract import labelling_matrix, support_distance
from toys import brute_force_vc, is_shattered

from defendability.classes import Parities, ParityFunction, solve_gf2
from defendability.errors import ParameterError
from defendability.spaces import FiniteDistribution, Gaussian, UniformCube


def cube(n: int) -> np.ndarray:
    return UniformCube(n).support()[0]


def test_vc_dimension_by_brute_force():
    cls = Parities(n=3)
    labels = labelling_matrix(list(cls.members()), cube(3))
    vc, _ = brute_force_vc(labels)
    assert vc == cls.vc_dimension == 3
    index = {row.tobytes(): i for i, row in enumerate(cube(3))}
    assert is_shattered(labels, [index[row.tobytes()] for row in cls.shattered_set()])


def test_evaluation_is_the_inner_product_mod_2():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, size=9, dtype=np.uint8)
    x = rng.integers(0, 2, size=(50, 9), dtype=np.uint8)
    out = ParityFunction(a)(x)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, (x.astype(int) @ a.astype(int)) % 2)
    assert ParityFunction(np.zeros(9, np.uint8))(x).tolist() == [0] * 50
    with pytest.raises(ValueError):
        ParityFunction(a)(x[:, :8])


def brute_solutions(A: np.ndarray, y: np.ndarray) -> np.ndarray:
    codes = np.arange(2 ** A.shape[1])
    cands = ((codes[:, None] >> np.arange(A.shape[1])) & 1).astype(int)
    ok = np.all((cands @ A.T.astype(int)) % 2 == y[None, :], axis=1)
    return cands[ok]


def test_solve_gf2_agrees_with_brute_force():
    rng = np.random.default_rng(1)
    for _ in range(200):
        n, m = int(rng.integers(1, 7)), int(rng.integers(0, 9))
        A = rng.integers(0, 2, size=(m, n), dtype=np.uint8)
        y = rng.integers(0, 2, size=m, dtype=np.uint8)
        a, consistent = solve_gf2(A, y)
        solutions = brute_solutions(A, y)
        assert consistent == (len(solutions) > 0)
        if consistent:
            np.testing.assert_array_equal((A.astype(int) @ a) % 2, y)


def test_solve_gf2_beyond_one_word():
    rng = np.random.default_rng(2)
    n = 150
    a = rng.integers(0, 2, size=n, dtype=np.uint8)
    A = rng.integers(0, 2, size=(200, n), dtype=np.uint8)
    y = (A.astype(int) @ a) % 2
    sol, consistent = solve_gf2(A, y)
    assert consistent
    # 200 random rows span GF(2)^150 with overwhelming probability: the solution is unique
    np.testing.assert_array_equal(sol, a)
    y[0] ^= 1
    assert not solve_gf2(A, y)[1]


def test_realise_general_points_and_reject_contradictions():
    cls = Parities(n=4)
    points = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=np.uint8)
    f = cls.realise(points, np.array([1, 0, 1]))
    assert cls.contains(f) and f(points).tolist() == [1, 0, 1]
    dependent = np.vstack([points, points[0] ^ points[1]])
    with pytest.raises(ParameterError, match="no parity"):
        cls.realise(dependent, np.array([1, 0, 1, 0]))


def test_contains_checks_length_and_bits():
    cls = Parities(n=4)
    assert cls.contains(ParityFunction([1, 0, 1, 1]))
    assert not cls.contains(ParityFunction([1, 0, 1]))
    forged = ParityFunction([1, 0, 1, 1])
    forged.a = np.array([2, 0, 1, 1], dtype=np.uint8)
    assert not cls.contains(forged)


def test_members_and_size():
    cls = Parities(n=4)
    members = list(cls.members())
    assert len(members) == len(set(members)) == cls.size() == 16
    assert Parities(n=17).members() is None and Parities(n=17).size() == 2 ** 17


def test_exact_distance_agrees_with_enumeration():
    cls = Parities(n=6)
    dist = UniformCube(6)
    rng = np.random.default_rng(3)
    for _ in range(30):
        f, g = cls.random_member(rng), cls.random_member(rng)
        assert cls.exact_distance(f, g, dist) == support_distance(f, g, dist)
    f = cls.random_member(rng)
    assert cls.exact_distance(f, ParityFunction(f.a.copy()), dist) == 0.0
    assert cls.exact_distance(f, f, FiniteDistribution(cube(6)[:5], np.full(5, 0.2))) is None
    assert cls.exact_distance(f, f, UniformCube(7)) is None


def test_cheapest_flip_under_the_uniform_cube():
    cls = Parities(n=4)
    dist = UniformCube(4)
    members = list(cls.members())
    for f in members:
        for x in cube(4):
            g = cls.cheapest_flip(f, x, dist)
            fx = f(x[None])[0]
            if not x.any():
                assert g is None  # every parity is 0 at the origin
                continue
            assert cls.contains(g) and g(x[None])[0] != fx
            best = min(support_distance(f, h, dist) for h in members if h(x[None])[0] != fx)
            assert support_distance(f, g, dist) == best == 0.5
            assert int(np.count_nonzero(g.a ^ f.a)) == 1 and (g.a ^ f.a)[np.argmax(x)] == 1


@pytest.mark.parametrize("seed", range(3))
def test_cheapest_flip_is_exact_on_other_finite_distributions(seed):
    cls = Parities(n=4)
    rng = np.random.default_rng(seed)
    points = cube(4)[rng.permutation(16)[:7]]
    dist = FiniteDistribution(points, rng.dirichlet(np.ones(7)))
    members = list(cls.members())
    for f in members[::3]:
        for x in cube(4)[1:]:
            g = cls.cheapest_flip(f, x, dist)
            fx = f(x[None])[0]
            assert g(x[None])[0] != fx
            best = min(support_distance(f, h, dist) for h in members if h(x[None])[0] != fx)
            assert support_distance(f, g, dist) == pytest.approx(best, abs=1e-12)


def test_cheapest_flip_is_unavailable_without_a_method():
    f = Parities(n=17).random_member(np.random.default_rng(4))
    x = np.ones(17, dtype=np.uint8)
    assert Parities(n=17).cheapest_flip(f, x, FiniteDistribution(x[None], np.ones(1))) is None
    assert Parities(n=17).cheapest_flip(f, x, UniformCube(17)) is not None
    assert Parities(n=3).cheapest_flip(ParityFunction([1, 0, 1]), np.ones(3, np.uint8), Gaussian(3)) is None


@pytest.mark.parametrize("n", [5, 20, 70])
def test_fit_member_is_consistent_on_realisable_batches(n):
    cls = Parities(n=n)
    rng = np.random.default_rng(n)
    for k in (0, 3, n // 2, 2 * n):
        target = cls.random_member(rng)
        X = rng.integers(0, 2, size=(k, n), dtype=np.uint8)
        f = cls.fit_member(X, target(X))
        assert cls.contains(f)
        np.testing.assert_array_equal(f(X), target(X))
