"""Synthetic Gaussian tasks: two Gaussians and a linear threshold, seeded."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from defendability import stats
from defendability.data.gaussian import direction, linear_threshold, two_gaussians
from defendability.errors import ParameterError

LEVEL = 0.999


def test_direction_is_the_unit_diagonal():
    u = direction(9)
    np.testing.assert_allclose(u, np.full(9, 1 / 3))
    assert math.isclose(float(u @ u), 1.0)


@pytest.mark.parametrize("make", [two_gaussians, linear_threshold])
def test_shapes_types_and_seeds(make):
    data = make(d=7, train=300, test=200, seed=3)
    assert data.X_train.shape == (300, 7) and data.X_test.shape == (200, 7)
    assert data.y_train.dtype == np.uint8 and set(np.unique(data.y_train)) == {0, 1}
    assert data.step is None and data.value_range == (-math.inf, math.inf)
    again, other = make(d=7, train=300, test=200, seed=3), make(d=7, train=300, test=200, seed=4)
    np.testing.assert_array_equal(data.X_test, again.X_test)
    np.testing.assert_array_equal(data.y_train, again.y_train)
    assert not np.array_equal(data.X_train, other.X_train)
    assert not np.array_equal(data.X_train[:200], data.X_test)  # train and test are separate draws


@pytest.mark.parametrize("separation", [0.0, 1.0, 3.0])
def test_two_gaussians_have_the_stated_means_balance_and_bayes_error(separation):
    d, size = 5, 4000
    data = two_gaussians(d=d, separation=separation, train=size, test=size, seed=1)
    X, y = np.vstack([data.X_train, data.X_test]), np.concatenate([data.y_train, data.y_test])
    n = len(y)
    low, high = stats.wilson(int(y.sum()), n, LEVEL)
    assert low <= 0.5 <= high
    u = direction(d)
    errors = int(np.count_nonzero((X @ u > 0).astype(np.uint8) != y))
    low, high = stats.wilson(errors, n, LEVEL)
    assert low <= float(st.norm.cdf(-separation / 2)) <= high
    # given y, x - (2y - 1)(separation/2) u is N(0, I): every coordinate passes a KS test
    centred = X - np.outer((2.0 * y - 1.0) * separation / 2, u)
    assert st.kstest(centred.ravel(), "norm").pvalue > 1 - LEVEL
    assert st.kstest(centred @ u, "norm").pvalue > 1 - LEVEL


@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_linear_threshold_labels_by_the_halfspace_with_the_stated_margin(margin):
    d, size = 6, 3000
    data = linear_threshold(d=d, margin=margin, train=size, test=size, seed=2)
    X, y = np.vstack([data.X_train, data.X_test]), np.concatenate([data.y_train, data.y_test])
    u = direction(d)
    along = X @ u
    np.testing.assert_array_equal(y, (along > 0).astype(np.uint8))
    assert np.abs(along).min() >= margin - 1e-12
    # |u.x| ~ N(0, 1) truncated to [margin, inf); the orthogonal part ~ N(0, I - uu^T)
    assert st.kstest(np.abs(along), st.truncnorm(margin, np.inf).cdf).pvalue > 1 - LEVEL
    rest = X - np.outer(along, u)
    assert st.kstest(np.sum(rest ** 2, axis=1), st.chi2(d - 1).cdf).pvalue > 1 - LEVEL
    low, high = stats.wilson(int(y.sum()), len(y), LEVEL)
    assert low <= 0.5 <= high


@pytest.mark.parametrize("make, kwargs, message", [
    (two_gaussians, {"d": 0}, "d must be"), (two_gaussians, {"train": 0}, "train must be"),
    (two_gaussians, {"separation": -1.0}, "separation must be"), (two_gaussians, {"seed": 1.5}, "seed must be"),
    (linear_threshold, {"margin": 9.0}, "margin must be"), (linear_threshold, {"d": 5000}, "d must be"),
    (linear_threshold, {"test": True}, "test must be"),
])
def test_bad_parameters_are_one_line_errors(make, kwargs, message):
    with pytest.raises(ParameterError, match=message) as err:
        make(**kwargs)
    assert "\n" not in str(err.value)
