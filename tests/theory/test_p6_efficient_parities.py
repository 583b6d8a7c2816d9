"""P6: efficient PAC learnability gives efficient defense. The vote defender with the
span learner as a PAC learner (k = m_A(eta), independent of eps) keeps
alpha <= (8/3) eta + exp(-N/32) and beta <= 8 eta + exp(-N/32) for eps <= 1/(4 m_A(eta)),
and its cost per decision does not grow as eps shrinks (derived constants, THEORY §3)."""

from __future__ import annotations

import math

import pytest

from theory_ci import alpha_ci, beta_ci
from defendability import Game

ETA = 0.1


@pytest.mark.parametrize("n", [8, 12, 16, 20])
def test_pac_defender_meets_its_bounds(n):
    k = math.ceil(n / ETA) - 1
    eps = 1 / (4 * k)
    r = Game(f"parities:n={n}", "mixture", f"vote:learner=span,eta={ETA}", eps).play(rounds=400, seed=61)
    voters = math.ceil(32 * math.log(2 / 0.05))
    slack = math.exp(-voters / 32)
    assert alpha_ci(r)[0] <= 8 / 3 * ETA + slack
    assert beta_ci(r)[0] <= 8 * ETA + slack
    assert r.cost["samples_per_decision"] == voters * k


def test_cost_does_not_grow_as_eps_shrinks():
    k = math.ceil(12 / ETA) - 1
    voters = math.ceil(32 * math.log(2 / 0.05))
    for eps in (1e-3, 1e-4, 1e-5):
        r = Game("parities:n=12", "mixture", f"vote:learner=span,eta={ETA}", eps).play(rounds=30, seed=62)
        assert r.cost["samples_per_decision"] == voters * k
        # g labels each distinct point drawn once, so its evaluations are at most N*k + 1
        assert r.cost["evaluations_per_decision"] <= voters * k + 1
    # the statistical vote (k = 1/(4 eps)) pays 100x more samples for 100x smaller eps
    stat = [Game("parities:n=12", "mixture", "vote:learner=span", eps).play(rounds=5, seed=63)
            .cost["samples_per_decision"] for eps in (1e-3, 1e-5)]
    assert stat[1] == pytest.approx(100 * stat[0], rel=0.01)
