"""The one exhaustive search behind every ``cheapest_flip`` over a finite class."""

from __future__ import annotations

import math

import numpy as np
import pytest

from defendability.classes import (
    Conjunctions,
    KeyedHash,
    Parities,
    Table,
    base,
    conjunctions,
    keyed_hash,
    parities,
    table,
)
from defendability.classes.base import exact_limbs, lightest_flip, row_blocks
from defendability.spaces import FiniteDistribution, UniformCube


def brute_force(labels: np.ndarray, own: np.ndarray, probs: np.ndarray) -> int | None:
    """The first row of least ``math.fsum`` mass of disagreement (the old base search)."""
    best, best_mass = None, math.inf
    for i, row in enumerate(labels):
        mass = math.fsum(probs[row != own].tolist())
        if mass < best_mass:
            best, best_mass = i, mass
    return best


@pytest.mark.parametrize("seed", range(20))
def test_matches_the_fsum_search_on_random_matrices(seed):
    rng = np.random.default_rng(seed)
    M, S = int(rng.integers(1, 60)), int(rng.integers(1, 40))
    probs = rng.dirichlet(np.full(S, 0.3))
    probs[rng.random(S) < 0.2] = 0.0
    if seed % 3 == 0:
        probs = np.full(S, 1.0 / S)  # many exact ties
    labels = rng.integers(0, 2, (M, S), dtype=np.uint8)
    own = rng.integers(0, 2, S, dtype=np.uint8)
    expected = brute_force(labels, own, probs)
    assert lightest_flip(labels, own, probs) == expected
    # the same search over row blocks of any size
    for step in (1, 3, M):
        blocks = (labels[i:i + step] for i in range(0, M, step))
        assert lightest_flip(blocks, own, probs) == expected


def test_ranks_near_ties_exactly():
    """Row 0 weighs 0.5 + 2^-53 exactly but 0.5 when summed left to right; row 1 weighs
    0.5: the lighter is row 1."""
    probs = np.array([0.5, 2.0 ** -54, 2.0 ** -54, 0.5])
    labels = np.array([[1, 1, 1, 0], [0, 0, 0, 1]], dtype=np.uint8)
    own = np.zeros(4, dtype=np.uint8)
    assert brute_force(labels, own, probs) == 1
    assert lightest_flip(labels, own, probs) == 1
    assert lightest_flip([labels[:1], labels[1:]], own, probs) == 1
    # an exact tie goes to the first row
    assert lightest_flip(np.array([[0, 0, 0, 1], [1, 0, 0, 0]]), own, probs) == 0


def test_no_rows_gives_none():
    own, probs = np.zeros(3, np.uint8), np.full(3, 1 / 3)
    assert lightest_flip(np.zeros((0, 3), np.uint8), own, probs) is None
    assert lightest_flip(iter([]), own, probs) is None


@pytest.mark.parametrize("seed", range(5))
def test_limbs_add_up_exactly(seed):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.full(50, 0.1))
    probs[:3] = [0.0, 1e-300, 5e-324]
    limbs = exact_limbs(probs)
    assert limbs.shape[0] == 50
    for p, row in zip(probs, limbs):
        assert math.fsum(row.tolist()) == p
    mask = rng.random((30, 50)) < 0.5
    # every subset sum of every limb is exact, whatever the order of summation
    sums = mask.astype(float) @ limbs
    for m, s in zip(mask, sums):
        for k in range(limbs.shape[1]):
            assert math.fsum(limbs[m, k].tolist()) == s[k]


def test_row_blocks_cover_the_rows_in_order():
    slices = list(row_blocks(10, 3, chunk=7))
    assert [(s.start, s.stop) for s in slices] == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]
    assert [(s.start, s.stop) for s in row_blocks(3, 100, chunk=7)] == [(0, 1), (1, 2), (2, 3)]
    assert list(row_blocks(0, 5)) == []


def test_one_helper_serves_all_five_searches():
    """The five exhaustive searches all go through ``lightest_flip``, and ``_is_cube``
    is defined once, on ``CubeDomain``."""
    import inspect

    for fn in (base.FunctionClass.cheapest_flip, table.Table.cheapest_flip,
               conjunctions.Conjunctions._search_flip, parities.Parities._lightest_flipper,
               keyed_hash.KeyedHash.cheapest_flip):
        assert "lightest_flip(" in inspect.getsource(fn), fn
    for cls in (Parities, Conjunctions, KeyedHash):
        assert cls._is_cube is base.CubeDomain._is_cube
    assert "_is_cube" not in vars(Parities) and "_is_cube" not in vars(Conjunctions)


def test_searches_agree_with_the_base_search_on_skewed_distributions():
    """Each class's search returns what the generic search over its members returns."""
    rng = np.random.default_rng(7)
    cases = [
        (Parities(n=4), UniformCube(4).support()[0]),
        (Conjunctions(n=3), UniformCube(3).support()[0]),
        (Table(N=6, size=25, seed=2), np.arange(6)),
        (KeyedHash(n=4, keys=12), UniformCube(4).support()[0]),
    ]
    for cls, domain in cases:
        dist = FiniteDistribution(domain, rng.dirichlet(np.ones(len(domain))))
        members = list(cls.members())
        for f in members[::3]:
            for x in domain[::2]:
                got = cls.cheapest_flip(f, x, dist)
                expected = base.FunctionClass.cheapest_flip(cls, f, x, dist)
                if expected is None:
                    assert got is None, (cls, f, x)
                else:
                    assert got == expected, (cls, f, x)


def test_limbs_refuse_masses_that_are_not_finite_and_non_negative():
    for bad in (np.array([0.5, np.nan]), np.array([0.5, np.inf]), np.array([0.5, -0.1])):
        with pytest.raises(ValueError, match="finite"):
            exact_limbs(bad)
