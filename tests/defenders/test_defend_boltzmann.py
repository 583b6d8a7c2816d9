"""The Boltzmann-posterior defender (THEORY.md §2.1, §4.4)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from defendability.classes.base import Counted
from defendability.defenders.boltzmann import Boltzmann
from defendability.errors import IncompatibleError, ParameterError
from defendability.registry import build
from defendability.spaces import FiniteDistribution, UniformDiscrete, UniformInterval
from toys import Labelling, Step, ToySets, ToyTable, ToyThresholds
from toys_for_defenders import Recording

SKEWED = FiniteDistribution(np.arange(5), np.array([0.4, 0.3, 0.15, 0.1, 0.05]))


def _fit(defender, cls, g, dist, eps=0.1, seed=0):
    sampler, counted = Recording(dist, np.random.default_rng(seed)), Counted(g)
    return defender.fit(cls, counted, sampler, eps, np.random.default_rng(seed + 1)), sampler, counted


def _brute_force(cls, g, samples, lam, queries):
    """pi(h) ∝ exp(-lam * dhat(h, g)) over every member, then the disagreeing mass."""
    members = list(cls.members())
    dhat = np.array([np.mean(h(samples) != g(samples)) for h in members])
    w = np.array([math.exp(-lam * d) for d in dhat])
    w /= w.sum()
    return np.array([sum(wi for wi, h in zip(w, members) if h(np.array([q]))[0] != g(np.array([q]))[0])
                     for q in queries])


@pytest.mark.parametrize("lam,samples", [(None, None), (3.0, 50), (40.0, 25)])
def test_posterior_equals_brute_force_on_a_finite_class(lam, samples):
    cls = ToySets(5, 2)
    g = Labelling([1, 0, 0, 1, 0])
    detector, sampler, _ = _fit(Boltzmann(lam=lam, samples=samples), cls, g, SKEWED, eps=0.1)
    expected = _brute_force(cls, g, sampler.handed[0], lam if lam is not None else 6.0, np.arange(5))
    np.testing.assert_allclose(detector.score(np.arange(5)), expected, atol=1e-11)
    np.testing.assert_array_equal(detector.decide(np.arange(5)), expected > 0.5)


def test_vanishing_lambda_gives_the_prior_fraction_of_disagreeing_members():
    cls = ToySets(5, 2)
    g = Labelling([0, 1, 0, 0, 0])
    detector, _, _ = _fit(Boltzmann(lam=1e-12, samples=30), cls, g, SKEWED)
    rows = cls.rows
    prior_fraction = (rows != np.array(g.bits)).mean(axis=0)
    np.testing.assert_allclose(detector.score(np.arange(5)), prior_fraction, atol=1e-10)


def test_huge_lambda_concentrates_on_members_agreeing_on_the_samples():
    cls = ToySets(4, 2)
    g = Labelling([0, 1, 1, 0])
    detector, sampler, _ = _fit(Boltzmann(lam=1e6, samples=400), cls, g, UniformDiscrete(4))
    assert set(sampler.handed[0].tolist()) == {0, 1, 2, 3}  # every point seen: only g has dhat = 0
    assert detector.hypotheses == [g]
    np.testing.assert_array_equal(detector.score(np.arange(4)), np.zeros(4))


def test_defaults_and_costs():
    b = Boltzmann()
    assert b.inverse_temperature(0.02) == pytest.approx(30.0)
    assert b.sample_count(0.1) == 400 and b.sample_count(1 / 3) == 120 and b.sample_count(0.003) == 13334
    detector, sampler, g = _fit(b, ToySets(5, 2), Labelling([1, 0, 0, 0, 0]), SKEWED, eps=0.1)
    assert sampler.drawn == 400 and len(sampler.handed) == 1 and g.evaluations == 400
    scores = detector.score(np.arange(5))
    assert g.evaluations == 405 and np.all((scores >= 0) & (scores <= 1))
    assert b.guarantee(ToySets(5, 2), 0.1) is None and Boltzmann.graded is True


def test_sampled_cover_for_classes_that_cannot_enumerate():
    cls = ToyThresholds()
    g = Step(0.5)
    detector, _, _ = _fit(Boltzmann(cover=50), cls, g, UniformInterval(), eps=0.05)
    assert cls.fits == 50
    assert 1 <= len(detector.hypotheses) <= 100
    assert abs(detector.posterior.sum() - 1) < 1e-9
    scores = detector.score(np.array([0.05, 0.3, 0.7, 0.95]))
    assert np.all(scores < 0.5)  # inputs far from g's threshold: nearly every cover member agrees
    # the ERM half is near g: its members agree with g on all but a sliver around 0.5
    assert min(abs(h.theta - 0.5) for h in detector.hypotheses) < 0.01


class NoERMThresholds(ToyThresholds):
    """Toy thresholds whose ``fit_member`` is incompatible (as a library class without
    an empirical-risk minimiser says it)."""

    def fit_member(self, X, Y):
        if not self.erm:
            raise IncompatibleError("toy-thresholds has no empirical-risk minimiser")
        return super().fit_member(X, Y)


def test_cover_falls_back_to_random_members_without_erm():
    cls = NoERMThresholds(erm=False)
    detector, _, _ = _fit(Boltzmann(cover=30, lam=1e-9), cls, Step(0.5), UniformInterval(), eps=0.05)
    assert cls.fits == 0 and len(detector.hypotheses) == 30
    # prior-uniform over the cover: h(0.2) = 1 != g(0.2) = 0 iff theta <= 0.2
    thetas = np.array([h.theta for h in detector.hypotheses])
    np.testing.assert_allclose(detector.score(np.array([0.2]))[0], np.mean(thetas <= 0.2),
                               atol=1e-8)


def test_cover_lets_a_genuine_type_error_of_the_erm_propagate():
    """Only IncompatibleError means "no ERM": a TypeError raised inside fit_member is a
    bug and must not be swallowed as a fallback to random members."""
    cls = ToyThresholds(erm=False)  # its fit_member raises a plain TypeError
    with pytest.raises(TypeError, match="no ERM"):
        _fit(Boltzmann(cover=30, lam=1e-9), cls, Step(0.5), UniformInterval(), eps=0.05)


@pytest.mark.parametrize("spec,word", [("boltzmann:lam=0", "lam"), ("boltzmann:lam=-1", "lam"),
                                       ("boltzmann:samples=0", "samples"), ("boltzmann:cover=0", "cover")])
def test_parameter_validation(spec, word):
    with pytest.raises(ParameterError, match=word):
        build("defenders", spec)


class CountingLabelling(Labelling):
    """A member that counts the points it is evaluated at (shared counter)."""

    def __init__(self, bits, counter):
        super().__init__(bits)
        object.__setattr__(self, "_counter", counter)

    def key(self):
        return ("counting", self.bits)

    def __call__(self, x):
        self._counter[0] += len(x)
        return super().__call__(x)


class CountingTable(ToyTable):
    def __init__(self, rows):
        super().__init__(rows)
        self.counter = [0]

    def members(self):
        return (CountingLabelling(r, self.counter) for r in self.rows)


def test_member_labels_are_memoised_per_class_without_changing_scores():
    cls = CountingTable(ToySets(5, 2).rows)
    g = Labelling([1, 0, 0, 1, 0])
    first, _, _ = _fit(Boltzmann(samples=200), cls, g, SKEWED, seed=0)
    first.score(np.arange(5))
    evaluated = cls.counter[0]
    assert evaluated <= len(cls.rows) * 5  # each member at each of the 5 points at most once
    second, sampler, _ = _fit(Boltzmann(samples=200), cls, g, SKEWED, seed=7)
    scores = second.score(np.arange(5))
    assert cls.counter[0] == evaluated  # nothing re-evaluated
    expected = _brute_force(ToyTable(cls.rows), g, sampler.handed[0], 6.0, np.arange(5))
    np.testing.assert_allclose(scores, expected, atol=1e-11)


def test_scores_are_exact_when_the_memo_is_full(monkeypatch):
    monkeypatch.setattr("defendability.defenders.boltzmann._MAX_TABLE_CELLS", 2 * 16)  # two points of 16 members
    monkeypatch.setattr("defendability.defenders.boltzmann._CHUNK_CELLS", 16)  # one point per chunk
    cls = ToySets(5, 2)
    g = Labelling([0, 0, 1, 1, 0])
    detector, sampler, _ = _fit(Boltzmann(samples=300), cls, g, SKEWED, seed=2)
    expected = _brute_force(cls, g, sampler.handed[0], 6.0, np.arange(5))
    np.testing.assert_allclose(detector.score(np.arange(5)), expected, atol=1e-11)
