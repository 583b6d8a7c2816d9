"""The vote, distill and pool-vote defenders (THEORY.md §2.1, §3, §4.4)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from defendability.classes.base import Counted
from defendability.defenders.vote import Distill, PoolVote, Vote, default_batch, default_voters
from defendability.errors import ParameterError, SpecError
from defendability.registry import build, parameters
from defendability.spaces import UniformDiscrete, UniformInterval
from toys import Labelling, Step, ToySets, ToyTable, ToyThresholds
from toys_for_defenders import Constant, Memoriser, Recording


def _fit(defender, g, dist, eps=0.1, seed=0, cls=None):
    sampler, counted = Recording(dist, np.random.default_rng(seed)), Counted(g)
    cls = cls or ToySets(6, 2)
    return defender.fit(cls, counted, sampler, eps, np.random.default_rng(seed + 1)), sampler, counted


def test_default_sizes_follow_the_formulas():
    assert default_batch(0.002) == 125 and default_batch(1 / 400) == 100 and default_batch(0.3) == 1
    assert default_voters(0.05) == 119 == math.ceil(32 * math.log(40))
    cls = ToySets(6, 2)
    vote = Vote(learner=Memoriser())
    assert vote.batch_size(cls, 0.002) == 125 and vote.voter_count() == 119
    assert Vote(learner=Memoriser(), delta=0.01).voter_count() == math.ceil(32 * math.log(200))
    assert Vote(learner=Memoriser(), k=7, voters=3).batch_size(cls, 0.002) == 7


def test_one_draw_and_one_labelling_call_then_one_evaluation_per_query():
    learner = Memoriser()
    detector, sampler, g = _fit(Vote(learner=learner, k=5, voters=7), Labelling([1, 0, 1, 0, 1, 1]),
                                UniformDiscrete(6))
    assert sampler.drawn == 35 and len(sampler.handed) == 1 and g.evaluations == 35
    assert detector.X.shape == (7, 5) and detector.Y.shape == (7, 5)
    detector.score(np.arange(4))
    assert g.evaluations == 39 and learner.calls == 1


def test_score_is_the_exact_fraction_of_disagreeing_voters():
    bits = [1, 0, 1, 0, 1, 1]
    detector, sampler, _ = _fit(Vote(learner=Memoriser(), k=3, voters=11), Labelling(bits), UniformDiscrete(6))
    batches = sampler.handed[0].reshape(11, 3)
    queries = np.arange(6)
    expected = [np.mean([(int(q in b and bits[q] == 1)) != bits[q] for b in batches.tolist()]) for q in queries]
    np.testing.assert_allclose(detector.score(queries), expected, atol=0)
    np.testing.assert_array_equal(detector.decide(queries), np.array(expected) > 0.5)
    assert detector.score(np.arange(0)).shape == (0,)


@pytest.mark.parametrize("value", [0, 1])
def test_constant_learner_scores_exactly_the_disagreement_with_g(value):
    bits = [1, 0, 1, 1, 0, 0]
    detector, _, _ = _fit(Vote(learner=Constant(value), k=4, voters=9), Labelling(bits), UniformDiscrete(6))
    np.testing.assert_array_equal(detector.score(np.arange(6)), (np.array(bits) != value).astype(float))


def test_expected_score_of_a_memoriser_matches_the_miss_probability():
    # g = 1 everywhere on 4 equally likely points: a voter disagrees at x iff its batch of
    # k = 3 misses x, probability (3/4)^3.
    N = 4000
    detector, _, _ = _fit(Vote(learner=Memoriser(), k=3, voters=N), Labelling([1, 1, 1, 1]), UniformDiscrete(4),
                          seed=11, cls=ToyTable(np.ones((1, 4))))
    for score in detector.score(np.arange(4)):
        lo, hi = binomtest(round(score * N), N).proportion_ci(confidence_level=0.999, method="wilson")
        assert lo <= (3 / 4) ** 3 <= hi


def test_eta_mode_makes_the_batch_independent_of_eps():
    vote = Vote(learner=Memoriser(), eta=0.1, voters=5)
    drawn = []
    for eps in (0.01, 0.001, 0.2):
        _, sampler, _ = _fit(vote, Labelling([0] * 6), UniformDiscrete(6), eps=eps)
        drawn.append(sampler.drawn)
    assert drawn == [50, 50, 50]


def test_eta_mode_needs_a_learner_with_a_sample_size():
    with pytest.raises(ParameterError, match="give k"):
        _fit(Vote(learner=Constant(0), eta=0.1), Labelling([0] * 6), UniformDiscrete(6))


@pytest.mark.parametrize("spec,word", [("vote:k=0", "k"), ("vote:voters=0", "voters"), ("vote:delta=0", "delta"),
                                       ("vote:delta=1", "delta"), ("vote:threshold=1", "threshold"),
                                       ("vote:threshold=-0.1", "threshold"), ("vote:eta=0", "eta"),
                                       ("vote:eta=1.5", "eta"), ("vote:k=3,eta=0.1", "not both"),
                                       ("pool-vote:pool=0", "pool"), ("pool-vote:k=5,pool=4", "pool"),
                                       ("distill:k=0", "k")])
def test_parameter_validation(spec, word):
    with pytest.raises(ParameterError, match=word):
        build("defenders", spec)


def test_unknown_learner_and_parameters_are_spec_errors():
    with pytest.raises(SpecError, match="nope"):
        build("defenders", "vote:learner=nope")
    with pytest.raises(SpecError, match="voters"):
        build("defenders", "distill:voters=3")


def test_guarantee_follows_the_derived_bounds():
    cls = ToySets(6, 2)
    g = Vote(learner=Memoriser(), voters=64).guarantee(cls, 0.01)  # k = 25, e = 1/26
    assert g["alpha"] == pytest.approx(8 / 3 / 26 + math.exp(-2)) and g["beta"] == pytest.approx(8 / 26 + math.exp(-2))
    assert Vote(learner=Memoriser(), threshold=0.4).guarantee(cls, 0.01) is None
    assert Vote(learner=Memoriser(), k=100).guarantee(cls, 0.01) is None  # k eps > 1/4
    assert Vote(learner=Constant(0)).guarantee(cls, 0.01) is None
    eta = Vote(learner=Memoriser(), eta=0.05).guarantee(cls, 0.005)  # k = 20, eps <= 1/(4k)
    assert eta["beta"] == pytest.approx(8 / 21 + math.exp(-119 / 32))
    assert Vote(learner=Memoriser(), eta=0.05).guarantee(cls, 0.02) is None


def test_distill_is_one_voter_with_zero_one_scores():
    assert [p.name for p in parameters(Distill)] == ["learner", "k", "eta"] and Distill.graded is False
    detector, sampler, g = _fit(Distill(learner=Memoriser(), k=6), Labelling([1, 0, 1, 0, 1, 1]),
                                UniformDiscrete(6))
    assert detector.X.shape == (1, 6) and sampler.drawn == 6
    scores = detector.score(np.arange(6))
    # g labels each distinct point drawn once (counts storage: k = 6 >= 6 support points)
    assert set(scores.tolist()) <= {0.0, 1.0} and g.evaluations == len(detector.batches.points) + 6 <= 12
    e = 1 / 7
    assert Distill(learner=Memoriser(), k=6).guarantee(ToySets(6, 2), 0.05) == pytest.approx(
        {"alpha": e, "beta": 6 * 0.05 + e})


def test_pool_vote_draws_one_pool_and_votes_over_subsets():
    learner = Memoriser()
    detector, sampler, g = _fit(PoolVote(learner=learner, k=4, voters=9), Step(0.5), UniformInterval(),
                                cls=ToyThresholds())
    pool = sampler.handed[0]
    assert sampler.drawn == 16 and len(sampler.handed) == 1 and g.evaluations == 16  # default pool 4k
    assert detector.X.shape == (9, 4)
    for batch, labels in zip(detector.X, detector.Y):
        assert len(set(batch.tolist())) == 4 and set(batch.tolist()) <= set(pool.tolist())
        np.testing.assert_array_equal(labels, (batch >= 0.5).astype(np.uint8))
    detector.score(np.array([0.2, 0.7]))
    assert g.evaluations == 18 and learner.calls == 1
    assert PoolVote(learner=Memoriser()).guarantee(ToyThresholds(), 0.01) is None


def test_pool_vote_subsets_are_uniform():
    # each of m = 20 pool points enters a voter's k = 5 subset with probability 1/4
    V = 2000
    detector, sampler, _ = _fit(PoolVote(learner=Memoriser(), k=5, voters=V, pool=20), Step(0.5),
                                UniformInterval(), seed=3, cls=ToyThresholds())
    pool = sampler.handed[0]
    counts = (detector.X[:, :, None] == pool[None, None, :]).any(axis=1).sum(axis=0)
    for c in counts:  # Bonferroni over the 20 points
        lo, hi = binomtest(int(c), V).proportion_ci(confidence_level=1 - 0.001 / 20, method="wilson")
        assert lo <= 0.25 <= hi


def test_pool_smaller_than_k_is_refused_at_fit():
    with pytest.raises(ParameterError, match="pool"):
        _fit(PoolVote(learner=Memoriser(), pool=3), Step(0.5), UniformInterval(), eps=0.01, cls=ToyThresholds())


def test_registry_builds_with_spec_values():
    vote = build("defenders", "vote:learner=closure,voters=201,k=10")
    assert isinstance(vote, Vote) and vote.voter_count() == 201 and vote.learner.name == "closure"
    assert repr(vote) == "vote:learner=closure,k=10,voters=201"
    # without a learner the SPEC says so; the referee resolves it per class, and the repr then names it
    pool = build("defenders", "pool-vote:threshold=0.3")
    assert repr(pool) == "pool-vote:threshold=0.3"
    assert repr(pool.resolved(build("classes", "subsets:N=8,d=2"))) == "pool-vote:learner=closure,threshold=0.3"
    assert repr(build("defenders", "vote:learner=[estimator:model=tree,seed=1],voters=11")) == \
        "vote:learner=[estimator:model=tree,seed=1],voters=11"
