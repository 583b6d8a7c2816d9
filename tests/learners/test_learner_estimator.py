"""The generic scikit-learn learner: learns what a practitioner's model learns (a
halfspace-like conjunction), predicts constants on one-label batches, is a function of
its batch, and refuses bad parameters in one line."""

from __future__ import annotations

import numpy as np
import pytest

from defendability import registry, stats
from defendability.errors import ParameterError
from defendability.learners.estimator import MODELS, Estimator


@pytest.mark.parametrize("model", MODELS)
def test_learns_a_conjunction(model):
    cls = registry.build("classes", "conjunctions:n=8")
    rng = np.random.default_rng(5)
    f = cls.random_member(rng)
    X = rng.integers(0, 2, (3, 400, 8), dtype=np.uint8)
    Q = rng.integers(0, 2, (300, 8), dtype=np.uint8)
    pred = Estimator(model).predict(cls, X, f(X.reshape(-1, 8)).reshape(3, 400), Q)
    assert pred.shape == (3, 300) and pred.dtype == np.uint8
    correct = int(np.count_nonzero(pred == f(Q)[None, :]))
    # a conjunction of a few literals on 8 bits: every model gets it nearly right
    assert stats.wilson(correct, pred.size, 0.999)[0] > 0.9


def test_one_label_batches_predict_that_label_and_models_are_deterministic():
    cls = registry.build("classes", "parities:n=6")
    X = np.random.default_rng(1).integers(0, 2, (2, 20, 6), dtype=np.uint8)
    Y = np.stack([np.zeros(20, np.uint8), np.ones(20, np.uint8)])
    Q = np.eye(6, dtype=np.uint8)
    assert Estimator("forest").predict(cls, X, Y, Q).tolist() == [[0] * 6, [1] * 6]
    Y = np.random.default_rng(2).integers(0, 2, (2, 20), dtype=np.uint8)
    a, b = (Estimator("forest", seed=3).predict(cls, X, Y, Q) for _ in range(2))
    assert np.array_equal(a, b)
    assert Estimator("knn").predict(cls, X[:, :3], Y[:, :3], Q).shape == (2, 6)  # k < 5 neighbours


def test_bad_parameters():
    with pytest.raises(ParameterError, match="model must be one of knn"):
        registry.build("learners", "estimator:model=svm")
    with pytest.raises(ParameterError, match="seed must be"):
        Estimator("tree", seed=-1)
    assert repr(registry.build("learners", "estimator:model=tree,seed=2")) == "estimator:model=tree,seed=2"
