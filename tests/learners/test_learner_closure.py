"""The closure learner against the smallest consistent member, found by brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defendability.errors import ParameterError
from defendability.learners import Closure
from defendability.learners.base import pac_sample_size

from toys import ToyTable
from toys_for_learners import DiscreteIntervals, SmallSubsets


def smallest_consistent(cls: ToyTable, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """The member with the fewest ones among those containing the batch's positives."""
    positives = X[Y == 1]
    holds = np.all(cls.rows[:, positives] == 1, axis=1)
    rows = cls.rows[holds]
    return rows[np.argmin(rows.sum(axis=1))]


def realisable_batches(cls: ToyTable, V: int, k: int, rng: np.random.Generator):
    targets = cls.rows[rng.integers(len(cls.rows), size=V)]
    X = rng.integers(0, cls.M, size=(V, k))
    Y = np.take_along_axis(targets, X, axis=1).astype(np.uint8)
    return X, Y


@pytest.mark.parametrize("cls", [SmallSubsets(M=7, d=3), DiscreteIntervals(M=9)], ids=lambda c: c.name)
@pytest.mark.parametrize("k", [0, 1, 4, 12])
def test_matches_the_smallest_consistent_member(cls, k):
    rng = np.random.default_rng(10 + k)
    X, Y = realisable_batches(cls, V=60, k=k, rng=rng)
    queries = np.arange(cls.M)
    got = Closure().predict(cls, X, Y, queries)
    assert got.shape == (60, cls.M) and got.dtype == np.uint8
    expected = np.array([smallest_consistent(cls, X[v], Y[v]) for v in range(60)])
    np.testing.assert_array_equal(got, expected)


def test_intersection_closed_member_is_unique():
    # the brute-force reference picks one member; intersection-closure makes it the only
    # smallest one, so the comparison above is not an arbitrary tie-break
    cls = DiscreteIntervals(M=6)
    for row in cls.rows:
        supersets = cls.rows[np.all(cls.rows >= row, axis=1)]
        assert np.array_equal(np.min(supersets, axis=0), row)


def test_class_without_closure_hook_is_refused():
    cls = ToyTable(np.array([[0, 1, 0], [1, 1, 0], [0, 0, 1]]), unique=True)
    with pytest.raises(TypeError, match="not intersection-closed"):
        Closure().predict(cls, np.zeros((2, 3), np.int64), np.zeros((2, 3), np.uint8), np.arange(3))


def test_shape_errors_name_the_array():
    cls = SmallSubsets()
    with pytest.raises(ValueError, match="Y must have shape"):
        Closure().predict(cls, np.zeros((2, 3), np.int64), np.zeros((2, 4), np.uint8), np.arange(3))
    with pytest.raises(ValueError, match="X must have shape"):
        Closure().predict(cls, np.zeros((2, 3, 1), np.int64), np.zeros((2, 3), np.uint8), np.arange(3))


def test_expected_error_and_sample_size():
    cls = SmallSubsets(M=8, d=3)
    assert Closure().expected_error(cls, 0) == 3.0
    assert Closure().expected_error(cls, 29) == pytest.approx(0.1)
    assert Closure().sample_size(cls, 0.1) == 29
    with pytest.raises(ParameterError, match="eta"):
        Closure().sample_size(cls, 0.0)
    with pytest.raises(ParameterError, match="k must be"):
        Closure().expected_error(cls, -1)


@settings(max_examples=300, deadline=None)
@given(d=st.integers(1, 400), eta=st.floats(1e-4, 0.999))
def test_pac_sample_size_is_the_least_k_meeting_eta(d, eta):
    k = pac_sample_size(d, eta)
    assert d / (k + 1) <= eta
    assert k == 0 or d / k > eta
    assert abs(k - (math.ceil(d / eta) - 1)) <= 1
