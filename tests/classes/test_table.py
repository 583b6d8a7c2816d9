"""An explicit finite class of labellings of {0..N-1}."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from class_contract import support_distance
from toys import brute_force_vc, is_shattered

from defendability.classes import Intervals, IntervalUnion, Table, TableFunction
from defendability.classes.base import FunctionClass
from defendability.classes.table import largest_shattered_set
from defendability.errors import ParameterError
from defendability.spaces import FiniteDistribution, Gaussian, UniformDiscrete


def test_spec_draws_distinct_rows_reproducibly():
    a, b, c = Table(N=6, size=20, seed=1), Table(N=6, size=20, seed=1), Table(N=6, size=20, seed=2)
    assert a.rows.shape == (20, 6) and len(np.unique(a.rows, axis=0)) == 20
    np.testing.assert_array_equal(a.rows, b.rows)
    assert not np.array_equal(a.rows, c.rows)
    assert Table(N=3, size=8).vc_dimension == 3  # every labelling of 3 points


@pytest.mark.parametrize("seed", range(6))
def test_vc_dimension_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    N, size = int(rng.integers(3, 9)), int(rng.integers(1, 40))
    table = Table(N=N, size=min(size, 2 ** N), seed=seed)
    vc, _ = brute_force_vc(table.rows)
    assert table.vc_dimension == vc
    T = table.shattered_set()
    assert len(T) == vc and is_shattered(table.rows, T)


def test_vc_dimension_of_a_structured_table():
    """Subsets of [6] of size <= 2: VC dimension 2, and no 3 points are shattered."""
    rows = np.array([[int(i in s) for i in range(6)] for j in range(3) for s in itertools.combinations(range(6), j)])
    table = Table.from_rows(rows)
    assert table.vc_dimension == 2
    assert largest_shattered_set(rows).tolist() == [0, 1]
    single = Table.from_rows(np.array([[0, 1, 1]]))
    assert single.vc_dimension == 0 and single.shattered_set().shape == (0,)


def test_from_rows_keeps_one_member_per_distinct_row_in_order():
    rows = np.array([[1, 0, 1], [0, 0, 0], [1, 0, 1], [1, 1, 1]])
    table = Table.from_rows(rows)
    assert table.rows.tolist() == [[1, 0, 1], [0, 0, 0], [1, 1, 1]]
    assert table.size() == 3 and [f.row.tolist() for f in table.members()] == table.rows.tolist()
    assert table.describe() == {"name": "table", "N": 3, "size": 3, "source": "rows"}
    with pytest.raises(ParameterError, match="0 and 1"):
        Table.from_rows(np.array([[0, 2]]))
    with pytest.raises(ParameterError, match="N <= 16"):
        Table.from_rows(np.zeros((1, 17)))


def test_evaluation_and_contains():
    table = Table.from_rows(np.array([[1, 0, 1], [0, 1, 1]]))
    f = TableFunction([0, 1, 1])
    assert f(np.array([2, 0, 1])).tolist() == [1, 0, 1] and f(np.array([2])).dtype == np.uint8
    with pytest.raises(ValueError):
        f(np.array([3]))
    assert table.contains(f)
    assert not table.contains(TableFunction([1, 1, 1]))
    assert not table.contains(TableFunction([0, 1, 1, 0]))


def test_realise_finds_a_row_or_fails():
    table = Table.from_rows(np.array([[1, 0, 1, 0], [0, 1, 1, 0], [0, 1, 0, 1]]))
    assert table.realise(np.array([1, 3]), np.array([1, 1])).row.tolist() == [0, 1, 0, 1]
    with pytest.raises(ParameterError, match="no row"):
        table.realise(np.array([0, 3]), np.array([1, 1]))


class PlainTable(FunctionClass):
    """The same rows without the vectorised search: the base class's defaults."""

    def __init__(self, table: Table):
        self.table = table

    vc_dimension = property(lambda self: self.table.vc_dimension)
    point_shape = property(lambda self: ())

    def default_distribution(self):
        return self.table.default_distribution()

    def shattered_set(self):
        return self.table.shattered_set()

    def realise(self, points, labels):
        return self.table.realise(points, labels)

    def contains(self, f):
        return self.table.contains(f)

    def random_member(self, rng):
        return self.table.random_member(rng)

    def members(self):
        return self.table.members()


@pytest.mark.parametrize("seed", range(3))
def test_cheapest_flip_is_exact(seed):
    table = Table(N=6, size=25, seed=seed)
    plain = PlainTable(table)
    rng = np.random.default_rng(seed)
    dists = [UniformDiscrete(6), FiniteDistribution(np.arange(6), rng.dirichlet(np.ones(6)))]
    members = list(table.members())
    for dist in dists:
        for f in members:
            for x in range(6):
                g = table.cheapest_flip(f, np.int64(x), dist)
                flipping = [h for h in members if h(np.array([x]))[0] != f(np.array([x]))[0]]
                if not flipping:
                    assert g is None and plain.cheapest_flip(f, np.int64(x), dist) is None
                    continue
                assert table.contains(g) and g(np.array([x]))[0] != f(np.array([x]))[0]
                best = min(support_distance(f, h, dist) for h in flipping)
                assert support_distance(f, g, dist) == pytest.approx(best, abs=1e-12)
                assert g == plain.cheapest_flip(f, np.int64(x), dist)
    assert table.cheapest_flip(members[0], np.int64(0), Gaussian(0)) is None
    assert plain.cheapest_flip(members[0], np.int64(0), Gaussian(0)) is None
    assert plain.size() == table.size() == 25


def test_base_defaults_need_an_enumerable_class():
    cls = Intervals(k=1)
    f = IntervalUnion([(0.2, 0.4)])
    dist = FiniteDistribution(np.array([0.1, 0.3]), np.array([0.5, 0.5]))
    assert FunctionClass.cheapest_flip(cls, f, np.float64(0.3), dist) is None
    assert FunctionClass.size(cls) is None


def test_fit_member_is_the_first_row_of_least_error():
    table = Table(N=7, size=30, seed=4)
    rng = np.random.default_rng(4)
    for _ in range(40):
        X = rng.integers(0, 7, size=9)
        Y = rng.integers(0, 2, size=9)
        errors = [int(np.count_nonzero(row[X] != Y)) for row in table.rows]
        expected = table.rows[int(np.argmin(errors))]
        np.testing.assert_array_equal(table.fit_member(X, Y).row, expected)
    target = table.random_member(rng)
    X = np.arange(7)
    assert table.fit_member(X, target(X)) == target
