"""Distributions: shapes, supports, masses, validation, and the sampler's counting."""

from __future__ import annotations

import numpy as np
import pytest

from defendability import stats
from defendability.errors import ParameterError
from defendability.spaces import (MAX_EXACT_SUPPORT, Empirical, FiniteDistribution, Gaussian, Sampler, UniformCube,
                                  UniformDiscrete, UniformInterval)

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("dist,shape", [
    (FiniteDistribution(np.arange(3), np.array([0.2, 0.3, 0.5])), ()),
    (UniformDiscrete(7), ()),
    (UniformCube(5), (5,)),
    (Gaussian(3), (3,)),
    (Gaussian(0), ()),
    (UniformInterval(-1, 2), ()),
    (Empirical(np.array([[0, 1], [1, 1], [0, 1]])), (2,)),
])
def test_sample_shapes(dist, shape):
    x = dist.sample(RNG, 11)
    assert x.shape == (11, *shape) and dist.point_shape == shape


def test_finite_support_and_masses():
    d = FiniteDistribution(np.array([5, 7, 9]), np.array([0.5, 0.0, 0.5]))
    points, probs = d.support()
    assert points.tolist() == [5, 9] and probs.tolist() == [0.5, 0.5]  # zero mass dropped
    np.testing.assert_allclose(d.mass(np.array([9, 7, 5])), [0.5, 0.0, 0.5])


def test_finite_sampling_frequencies_match_probabilities():
    probs = np.array([0.1, 0.6, 0.3])
    x = FiniteDistribution(np.arange(3), probs).sample(np.random.default_rng(1), 30_000)
    for j, p in enumerate(probs):
        lo, hi = stats.wilson(int(np.count_nonzero(x == j)), len(x), 0.999)
        assert lo <= p <= hi


def test_uniform_cube_support_is_the_whole_cube_until_too_large():
    points, probs = UniformCube(3).support()
    assert points.shape == (8, 3) and len({tuple(p) for p in points.tolist()}) == 8
    assert probs.sum() == pytest.approx(1.0)
    big = int(np.log2(MAX_EXACT_SUPPORT)) + 1
    assert UniformCube(big).support() is None


def test_empirical_weights_repeated_rows():
    d = Empirical(np.array([[0, 1], [1, 1], [0, 1], [0, 1]]))
    np.testing.assert_allclose(d.mass(np.array([[0, 1], [1, 1], [1, 0]])), [0.75, 0.25, 0.0])


def test_gaussian_moments():
    x = Gaussian(2, mean=1.0, scale=3.0).sample(np.random.default_rng(2), 200_000)
    np.testing.assert_allclose(x.mean(axis=0), [1.0, 1.0], atol=0.05)
    np.testing.assert_allclose(x.std(axis=0), [3.0, 3.0], atol=0.05)


def test_infinite_distributions_have_no_support():
    assert Gaussian(2).support() is None and UniformInterval().support() is None
    with pytest.raises(TypeError):
        Gaussian(2).mass(np.zeros((1, 2)))


@pytest.mark.parametrize("build,match", [
    (lambda: FiniteDistribution(np.arange(2), np.array([0.5, 0.6])), "sum"),
    (lambda: FiniteDistribution(np.arange(2), np.array([1.5, -0.5])), ">= 0"),
    (lambda: FiniteDistribution(np.arange(2), np.array([1.0])), "equal length"),
    (lambda: UniformDiscrete(0), "N must be >= 1"),
    (lambda: UniformCube(0), "n must be >= 1"),
    (lambda: Gaussian(2, scale=0), "scale must be > 0"),
    (lambda: UniformInterval(1, 1), "low < high"),
    (lambda: Empirical(np.zeros((0, 2))), "at least one row"),
])
def test_bad_parameters_name_the_problem(build, match):
    with pytest.raises(ParameterError, match=match):
        build()


def test_sampler_counts_what_it_draws():
    s = Sampler(UniformDiscrete(10), np.random.default_rng(3))
    s(5)
    s.batches(3, 4)
    assert s.drawn == 17


def test_draws_too_large_for_memory_are_refused_before_allocating():
    from defendability.spaces import MAX_DRAW_CELLS

    s = Sampler(UniformCube(20), np.random.default_rng(0))
    with pytest.raises(ParameterError, match="more than the limit"):
        s(MAX_DRAW_CELLS // 20 + 1)
    with pytest.raises(ParameterError, match="more than the limit"):
        s.batches(1000, MAX_DRAW_CELLS // 1000)
    assert s.drawn == 0
