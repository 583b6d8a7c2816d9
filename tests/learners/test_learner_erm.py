"""The erm learner: each voter predicts with a member of fewest mistakes on its batch."""

from __future__ import annotations

import numpy as np
import pytest

from defendability.errors import ParameterError
from defendability.learners import ERM

from toys import ToyTable
from toys_for_learners import NotEnumerable, SmallSubsets


def test_every_voter_predicts_with_an_empirical_risk_minimiser():
    cls = ToyTable(np.random.default_rng(1).integers(0, 2, (12, 7)), unique=True)
    rng = np.random.default_rng(2)
    V, k = 50, 6
    X = rng.integers(0, cls.M, (V, k))
    Y = rng.integers(0, 2, (V, k)).astype(np.uint8)  # noisy labels: minimisers make mistakes
    queries = np.arange(cls.M)
    got = ERM().predict(cls, X, Y, queries)
    assert got.shape == (V, cls.M) and got.dtype == np.uint8
    some_mistakes = False
    for v in range(V):
        mistakes = (cls.rows[:, X[v]] != Y[v]).sum(axis=1)
        minimisers = cls.rows[mistakes == mistakes.min()]
        assert any(np.array_equal(row, got[v]) for row in minimisers)
        some_mistakes |= mistakes.min() > 0
    assert some_mistakes


def test_learns_the_target_from_a_realisable_batch_that_pins_it_down():
    cls = SmallSubsets(M=6, d=2)
    target = cls.rows[9]
    X = np.tile(np.arange(6), (3, 1))
    got = ERM().predict(cls, X, np.tile(target, (3, 1)), np.arange(6))
    np.testing.assert_array_equal(got, np.tile(target, (3, 1)))


def test_class_without_minimiser_is_refused():
    with pytest.raises(TypeError, match="'not-enumerable' has no empirical-risk minimiser"):
        ERM().predict(NotEnumerable(np.eye(3)), np.zeros((1, 1), np.int64), np.zeros((1, 1), np.uint8), np.arange(3))


class StatedBound(ToyTable):
    name = "stated-bound"

    def erm_expected_error(self, k: int) -> float:
        return 2 / (k + 2)


def test_expected_error_only_when_the_class_states_one():
    assert ERM().expected_error(SmallSubsets(), 10) is None
    assert ERM().expected_error(StatedBound(np.eye(3)), 10) == pytest.approx(1 / 6)
    assert ERM().sample_size(StatedBound(np.eye(3)), 0.1) is None
    with pytest.raises(ParameterError, match="k must be"):
        ERM().expected_error(SmallSubsets(), -2)
