"""The learners on the library's own classes (subsets, conjunctions, parities, intervals,
thresholds, halfspaces), against brute force where the class can be enumerated."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from defendability.classes.conjunctions import Conjunctions
from defendability.classes.halfspaces import Halfspaces
from defendability.classes.intervals import Intervals, Thresholds
from defendability.classes.parities import Parities
from defendability.classes.subsets import Subsets
from defendability.learners import Closure, ERM, OneInclusion, Span

from toys_for_learners import SmallSubsets


def bit_rows(n: int) -> np.ndarray:
    return np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.uint8)


def realisable(cls, domain: np.ndarray, V: int, k: int, rng: np.random.Generator):
    """V batches of k domain points, each labelled by a random member."""
    X = domain[rng.integers(len(domain), size=(V, k))]
    Y = np.stack([cls.random_member(rng)(X[v]) for v in range(V)]).astype(np.uint8)
    return X, Y


@pytest.mark.parametrize("cls,domain", [(Subsets(N=7, d=3), np.arange(7)), (Conjunctions(n=3), bit_rows(3))],
                         ids=["subsets", "conjunctions"])
def test_closure_is_the_smallest_consistent_member(cls, domain):
    table = np.stack([f(domain) for f in cls.members()])  # (members, domain)
    rng = np.random.default_rng(71)
    X, Y = realisable(cls, domain, 80, 5, rng)
    got = Closure().predict(cls, X, Y, domain)
    flat = domain.reshape(len(domain), -1)
    for v in range(80):
        cols = [int(np.flatnonzero(np.all(flat == x.reshape(1, -1), axis=1))[0]) for x in X[v]]
        holds = np.all(table[:, cols][:, Y[v] == 1] == 1, axis=1)
        smallest = table[holds][np.argmin(table[holds].sum(axis=1))]
        np.testing.assert_array_equal(got[v], smallest)


@pytest.mark.parametrize("cls", [Intervals(k=2), Parities(n=4), Halfspaces(d=2)], ids=lambda c: c.name)
def test_closure_refuses_classes_that_are_not_intersection_closed(cls):
    X = np.zeros((1, 2, *cls.point_shape))
    with pytest.raises(TypeError, match="intersection-closed"):
        Closure().predict(cls, X, np.zeros((1, 2), np.uint8), np.zeros((1, *cls.point_shape)))


def test_span_on_the_parities_class_matches_its_members():
    cls = Parities(n=5)
    domain = bit_rows(5)
    members = np.stack([f(domain) for f in cls.members()])
    rng = np.random.default_rng(72)
    for k in (2, 4, 7):
        X, Y = realisable(cls, domain, 60, k, rng)
        got = Span().predict(cls, X, Y, domain)
        for v in range(60):
            idx = X[v].astype(np.int64) @ (1 << np.arange(4, -1, -1))  # row index in `domain`
            consistent = members[np.all(members[:, idx] == Y[v], axis=1)]
            agreed = consistent.min(axis=0) == consistent.max(axis=0)
            np.testing.assert_array_equal(got[v], np.where(agreed, consistent[0], 0))


def test_one_inclusion_on_subsets_matches_the_same_class_built_by_hand():
    # same functions, same points, so the same graphs and orientations
    real, toy = Subsets(N=6, d=2), SmallSubsets(M=6, d=2)
    rng = np.random.default_rng(73)
    X = rng.integers(0, 6, (150, 3))
    Y = np.stack([real.random_member(rng)(x) for x in X]).astype(np.uint8)
    learner = OneInclusion()
    np.testing.assert_array_equal(learner.predict(real, X, Y, np.arange(6)),
                                  learner.predict(toy, X, Y, np.arange(6)))


def test_one_inclusion_orients_conjunctions_within_their_vc_dimension():
    cls = Conjunctions(n=2)
    learner = OneInclusion()
    domain = bit_rows(2)
    for size in range(1, 5):
        for P in itertools.combinations(range(4), size):
            graph = learner.orientation(cls, domain[list(P)])
            assert graph.out_degrees().max(initial=0) <= cls.vc_dimension


@pytest.mark.parametrize("cls", [Subsets(N=20, d=4), Conjunctions(n=6), Parities(n=8), Intervals(k=2),
                                 Thresholds(), Halfspaces(d=3)], ids=lambda c: c.name)
def test_erm_is_consistent_on_realisable_batches(cls):
    rng = np.random.default_rng(74)
    V, k = 12, 15
    sample = cls.default_distribution().sample
    X = np.stack([sample(rng, k) for _ in range(V)])
    Y = np.stack([cls.random_member(rng)(X[v]) for v in range(V)]).astype(np.uint8)
    got = ERM().predict(cls, X, Y, X.reshape(V * k, *cls.point_shape))
    assert got.shape == (V, V * k) and got.dtype == np.uint8
    own = got.reshape(V, V, k)[np.arange(V), np.arange(V)]  # each voter on its own batch
    np.testing.assert_array_equal(own, Y)
