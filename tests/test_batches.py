"""Training batches: the two storages agree, and tabulated draws have the law of draws."""

from __future__ import annotations

import numpy as np
import pytest

from defendability import stats
from defendability.batches import Batches
from defendability.spaces import FiniteDistribution, Gaussian, Sampler


def test_counts_and_index_describe_the_same_batches():
    counts = np.array([[2, 0, 1], [0, 3, 0], [1, 1, 1]])
    b = Batches(np.array([10, 20, 30]), counts=counts)
    assert (b.V, b.k) == (3, 3)
    idx = b.indices()
    assert idx.shape == (3, 3)
    for v in range(3):
        np.testing.assert_array_equal(np.bincount(idx[v], minlength=3), counts[v])
    dist = b.distinct()
    for v in range(3):
        assert set(dist[v].tolist()) == set(np.flatnonzero(counts[v]).tolist())


def test_batches_need_one_storage_and_equal_sizes():
    with pytest.raises(ValueError):
        Batches(np.arange(3))
    with pytest.raises(ValueError, match="same number"):
        Batches(np.arange(3), counts=np.array([[1, 1, 0], [1, 0, 0]]))


def test_guide_table_sampling_equals_inverse_cdf_exactly():
    probs = np.random.default_rng(1).dirichlet(np.ones(3000))
    d = FiniteDistribution(np.arange(3000), probs)
    got = d.sample_indices(np.random.default_rng(5), 50_000)
    want = np.searchsorted(np.cumsum(probs), np.random.default_rng(5).random(50_000), side="right")
    np.testing.assert_array_equal(got, np.minimum(want, 2999))


def test_tabulated_batches_have_the_law_of_draws():
    # P(batch of k contains point j) = 1 - (1 - p_j)^k, and every batch holds k draws
    probs = np.array([0.002, 0.01, 0.088, 0.9])
    d = FiniteDistribution(np.arange(4), probs)
    sampler = Sampler(d, np.random.default_rng(3))
    b = sampler.batches(20_000, 25)
    assert sampler.drawn == 500_000 and b.k == 25 and b.V == 20_000
    seen = np.zeros((b.V, 4), bool)
    for j, point in enumerate(b.points):
        seen[:, point] = b._counts[:, j] > 0
    for point, p in enumerate(probs):
        lo, hi = stats.wilson(int(seen[:, point].sum()), b.V, 0.999)
        assert lo <= 1 - (1 - p) ** 25 <= hi


def test_infinite_distributions_keep_every_draw():
    b = Sampler(Gaussian(3), np.random.default_rng(0)).batches(5, 7)
    assert b.points.shape == (35, 3) and b.indices().shape == (5, 7)
