"""P5: ensembling matters. Against the cheapest point flip on subsets (the backdoor
differs from f on x* and on one more point, total mass eps), a single voter is
poisoned whenever its batch contains x* (probability about k/N), while the majority
of 119 voters is not: distill misses far more often than vote, whose alpha + beta
stays O(d eps)."""

from __future__ import annotations

from theory_ci import beta_ci, error_sum_ci
from defendability import play

CLASS, EPS = "subsets:N=400,d=10", 0.005


def test_vote_beats_distill_against_poisoning():
    vote = play(CLASS, "point-flip", "vote:learner=closure", eps=EPS, rounds=1500, seed=51)
    distill = play(CLASS, "point-flip", "distill:learner=closure", eps=EPS, rounds=1500, seed=51)
    assert vote.valid_rounds > 0.9 * vote.rounds
    # distill's misses: about P(x* in its batch of k = 50) ~ 1 - (1 - 1/400)^50 ~ 0.12
    assert beta_ci(distill)[0] > beta_ci(vote)[1]
    assert error_sum_ci(distill)[0] > error_sum_ci(vote)[1]
    assert error_sum_ci(vote)[0] <= 10 * 0.005 * 10  # O(d eps) with a small constant
