"""Keyed hashes: the member table's size limit, the untabled path, cheapest_flip."""

from __future__ import annotations

import math

import numpy as np
import pytest

from defendability.classes import Counted, HashFunction, KeyedHash, keyed_hash
from defendability.errors import ParameterError
from defendability.spaces import FiniteDistribution, UniformCube


def test_table_only_up_to_16_mib():
    assert keyed_hash.MAX_TABLE_CELLS == 2 ** 24
    assert KeyedHash(n=4, keys=16)._table.shape == (16, 16)
    assert KeyedHash(n=16, keys=512)._table is None  # 2^25 cells: untabled
    assert KeyedHash(n=20, keys=2)._table.shape == (2, 2 ** 20)  # 2^21 cells: tabled, n > 16
    assert KeyedHash(n=24, keys=2)._table is None  # 2^25 cells
    assert KeyedHash(n=16, keys=0)._table is None  # the full class has no table


def test_table_limit_is_the_cell_count(monkeypatch):
    monkeypatch.setattr(keyed_hash, "MAX_TABLE_CELLS", 64)
    assert KeyedHash(n=4, keys=4)._table is not None  # 64 cells
    assert KeyedHash(n=4, keys=5)._table is None  # 80 cells


def _brute_force(cls, f, x, dist):
    points, probs = dist.support()
    fx = f(x[None])[0]
    best, best_mass = None, math.inf
    for g in cls.members():
        if g(x[None])[0] == fx:
            continue
        mass = math.fsum(probs[g(points) != f(points)].tolist())
        if mass < best_mass:
            best, best_mass = g, mass
    return best


@pytest.mark.parametrize("tabled", [True, False])
def test_cheapest_flip_is_the_exhaustive_search_with_or_without_the_table(tabled, monkeypatch):
    if not tabled:
        monkeypatch.setattr(keyed_hash, "MAX_TABLE_CELLS", 0)
    cls = KeyedHash(n=4, keys=10, salt=3)
    assert (cls._table is not None) == tabled
    cube = UniformCube(4).support()[0]
    rng = np.random.default_rng(1)
    skewed = FiniteDistribution(cube[rng.permutation(16)[:9]], rng.dirichlet(np.ones(9)))
    for dist in (UniformCube(4), skewed):
        for f in list(cls.members())[::3]:
            for x in cube[::3]:
                expected = _brute_force(cls, f, x, dist)
                got = cls.cheapest_flip(Counted(f), x, dist)
                assert got == expected, (f, x, dist)
                if got is not None:
                    assert cls.contains(got)


def test_cheapest_flip_checks_the_cube():
    cls = KeyedHash(n=4, keys=8)
    f = HashFunction(0, 4, 0)
    with pytest.raises(ValueError, match=r"\{0,1\}\^5"):
        cls.cheapest_flip(f, np.zeros(4, np.uint8), UniformCube(5))
    with pytest.raises(ValueError):
        cls.cheapest_flip(f, np.zeros(5, np.uint8), UniformCube(4))
    assert KeyedHash(n=4).cheapest_flip(f, np.zeros(4, np.uint8), UniformCube(4)) is None  # full class


def test_contains_unwraps_counted():
    cls = KeyedHash(n=6, keys=4)
    f = cls.random_member(np.random.default_rng(0))
    assert cls.contains(Counted(f))
    assert not cls.contains(Counted(HashFunction(4, 6, 0)))


@pytest.mark.parametrize("kwargs, fragment", [({"n": 0}, "n="), ({"n": 65}, "n="), ({"keys": 1}, "keys="),
                                              ({"keys": 70000}, "keys=")])
def test_bad_parameters(kwargs, fragment):
    with pytest.raises(ParameterError, match=fragment):
        KeyedHash(**kwargs)
