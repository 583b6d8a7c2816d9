"""All four learners: registered, buildable from a SPEC, and batched with the same shapes."""

from __future__ import annotations

import numpy as np
import pytest

from defendability import registry
from defendability.errors import SpecError
from defendability.learners import Closure, ERM, Learner, OneInclusion, Span

from toys_for_learners import Parities, SmallSubsets

LEARNERS = {"closure": Closure, "span": Span, "one-inclusion": OneInclusion, "erm": ERM}


def test_registered_under_their_names():
    assert set(LEARNERS) <= set(registry.names("learners"))
    for name, component in LEARNERS.items():
        assert registry.lookup("learners", name) is component
        assert issubclass(component, Learner)
        assert registry.summary(component)  # one line for `defendability list`
    assert registry.build("learners", "one-inclusion:cache_size=7").cache_size == 7
    with pytest.raises(SpecError, match="unknown parameter"):
        registry.build("learners", "span:n=3")


@pytest.mark.parametrize("name", ["closure", "one-inclusion", "erm"])
@pytest.mark.parametrize("V,k,Q", [(1, 0, 1), (5, 3, 4), (2, 9, 0)])
def test_finite_class_shapes(name, V, k, Q):
    cls = SmallSubsets(M=6, d=2)
    rng = np.random.default_rng(V + k + Q)
    X = rng.integers(0, 6, (V, k))
    Y = np.isin(X, [1, 4]).astype(np.uint8)  # labelled by the member {1, 4}
    queries = rng.integers(0, 6, Q)
    got = registry.build("learners", name).predict(cls, X, Y, queries)
    assert got.shape == (V, Q) and got.dtype == np.uint8
    # every learner reproduces a batch label at a point of the batch
    for v in range(V):
        for j, q in enumerate(queries):
            if q in X[v]:
                assert got[v, j] == Y[v][list(X[v]).index(q)]


@pytest.mark.parametrize("name", ["span", "one-inclusion"])
def test_bit_row_shapes(name):
    cls = Parities(3)
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, (4, 5, 3), dtype=np.uint8)
    Y = X[..., 0] ^ X[..., 2]
    got = registry.build("learners", name).predict(cls, X, Y, cls.all_vectors())
    assert got.shape == (4, 8) and got.dtype == np.uint8
    with pytest.raises(ValueError, match="queries must have shape"):
        registry.build("learners", name).predict(cls, X, Y, np.zeros((2, 4), np.uint8))
