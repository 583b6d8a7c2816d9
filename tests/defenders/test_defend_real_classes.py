"""The defenders with the library's own classes and learners."""

from __future__ import annotations

import math

import numpy as np
import pytest

from defendability import Game
from defendability.classes import (
    Counted,
    Halfspaces,
    Parities,
    Subsets,
    Table,
    Thresholds,
)
from defendability.defenders import Boltzmann, Distill, PoolVote, Vote
from defendability.spaces import Sampler


def _fit(defender, cls, g, eps, seed=0, dist=None):
    sampler, counted = Sampler(dist or cls.default_distribution(), np.random.default_rng(seed)), Counted(g)
    return defender.fit(cls, counted, sampler, eps, np.random.default_rng(seed + 1)), sampler, counted


def test_vote_with_closure_on_subsets_costs_and_guarantee():
    cls, eps = Subsets(N=64, d=10), 0.01
    f = cls.random_member(np.random.default_rng(0))
    detector, sampler, g = _fit(Vote(learner="closure"), cls, f, eps)
    assert sampler.drawn == 119 * 25 and g.evaluations == 119 * 25
    scores = detector.score(np.arange(64))
    assert np.all((scores >= 0) & (scores <= 1)) and g.evaluations == 119 * 25 + 64
    # closure never predicts 1 outside the set: points outside f score exactly 0
    outside = np.setdiff1d(np.arange(64), f.elements)
    np.testing.assert_array_equal(scores[outside], 0.0)
    e = 10 / 26
    assert Vote(learner="closure").guarantee(cls, eps) == pytest.approx(
        {"alpha": min(1.0, 8 / 3 * e + math.exp(-119 / 32)), "beta": 1.0})


def test_span_in_eta_mode_is_independent_of_eps_and_exact_on_clean_inputs():
    cls = Parities(n=10)
    vote = Vote(learner="span", eta=0.1, voters=31)  # k = ceil(10/0.1) - 1 = 99 >> n
    f = cls.random_member(np.random.default_rng(1))
    drawn = [_fit(vote, cls, f, eps)[1].drawn for eps in (0.01, 0.001, 0.0001)]
    assert drawn == [31 * 99] * 3
    detector, _, _ = _fit(vote, cls, f, 0.001)
    x = cls.default_distribution().sample(np.random.default_rng(2), 50)
    np.testing.assert_array_equal(detector.score(x), 0.0)  # every batch spans GF(2)^10 here
    assert vote.guarantee(cls, 1 / (4 * 99)) is not None and vote.guarantee(cls, 1 / (4 * 99) * 1.01) is None


def test_boltzmann_is_exact_on_enumerable_subsets():
    cls, eps = Subsets(N=6, d=2), 0.1
    g = cls.realise(np.array([0, 1]), np.array([1, 0]))
    sampler = Sampler(cls.default_distribution(), np.random.default_rng(0))
    points = Sampler(cls.default_distribution(), np.random.default_rng(0))(400)  # the same draws
    detector = Boltzmann().fit(cls, Counted(g), sampler, eps, np.random.default_rng(1))
    members = list(cls.members())
    dhat = np.array([np.mean(h(points) != g(points)) for h in members])
    w = np.exp(-6.0 * (dhat - dhat.min()))
    w /= w.sum()
    queries = np.arange(6)
    labels = np.array([h(queries) for h in members])
    np.testing.assert_allclose(detector.score(queries), w @ (labels != g(queries)), atol=1e-11)


def test_boltzmann_cover_on_thresholds():
    cls = Thresholds()
    g = cls.random_member(np.random.default_rng(3))
    detector, sampler, counted = _fit(Boltzmann(cover=20), cls, g, 0.05)
    assert sampler.drawn == 800 and counted.evaluations == 800
    assert 1 <= len(detector.hypotheses) <= 40 and all(cls.contains(h) for h in detector.hypotheses)
    scores = detector.score(np.linspace(0.0, 1.0, 11))
    assert np.all((scores >= 0) & (scores <= 1))


def test_pool_vote_and_distill_sizes_on_real_classes():
    cls = Subsets(N=64, d=10)
    f = cls.random_member(np.random.default_rng(4))
    _, sampler, _ = _fit(PoolVote(learner="closure"), cls, f, 0.01)
    assert sampler.drawn == 4 * 25
    table = Table(N=6, size=20, seed=0)
    detector, sampler, _ = _fit(Distill(learner="one-inclusion"), table, table.random_member(np.random.default_rng(0)),
                                0.05)
    assert sampler.drawn == 5 and set(detector.score(np.arange(6)).tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("defender", ["vote:learner=closure,voters=41", "distill:learner=closure",
                                      "pool-vote:learner=closure,voters=41", "boltzmann", "accept"])
def test_every_defender_plays_under_the_referee(defender):
    r = Game("subsets:N=8,d=3", "mixture", defender, 0.1).play(rounds=40, seed=0)
    assert r.rounds == 40 and 0.0 <= r.alpha <= 1.0 and 0.0 <= r.beta <= 1.0
    assert r.cost["samples_per_decision"] > 0 or defender == "accept"


def test_boltzmann_cover_on_halfspaces_finishes_in_seconds():
    """The cover refits batches with flipped labels; with a bounded-time ERM the game
    `play --class halfspaces:d=2 --attacker point-flip --defender boltzmann:cover=50
    --eps 0.1 --rounds 5` takes about a second (it hung with a kernel SVC)."""
    import time

    start = time.perf_counter()
    Game("halfspaces:d=2", "point-flip", "boltzmann:cover=50", 0.1).play(rounds=5, seed=0)
    # the cover itself: 50 random members and 50 ERM fits on noisy resamples of 400 points
    cls = Halfspaces(d=2)
    detector, _, _ = _fit(Boltzmann(cover=50), cls, cls.random_member(np.random.default_rng(0)), 0.1)
    assert len(detector.hypotheses) >= 1
    assert time.perf_counter() - start < 30.0
