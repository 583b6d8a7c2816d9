"""P1 (L1, symmetric shattering): at eps = 1/d, (f*, x*) has the law of (f, x), so
alpha + beta = 1 and the win rate is 1/2 for every defender."""

from __future__ import annotations

import pytest

from theory_ci import error_sum_ci
from defendability import play

CASES = [
    ("subsets:N=5,d=5", 5, ["accept", "vote:learner=closure", "distill:learner=closure",
                            "pool-vote:learner=closure", "boltzmann"]),
    ("subsets:N=10,d=10", 10, ["vote:learner=closure", "distill:learner=closure", "boltzmann"]),
    ("subsets:N=40,d=20", 20, ["vote:learner=closure", "pool-vote:learner=closure"]),
    ("parities:n=8", 8, ["vote:learner=span", "distill:learner=span", "boltzmann"]),
]


@pytest.mark.parametrize("cls,d,defender", [(c, d, x) for c, d, ds in CASES for x in ds])
def test_no_defender_beats_a_coin_at_eps_one_over_d(cls, d, defender):
    r = play(cls, "shatter", defender, eps=1 / d, rounds=500, seed=11)
    assert r.valid_rounds == r.rounds  # every trigger has a valid flip at eps = 1/d
    lo, hi = error_sum_ci(r)
    assert lo <= 1.0 <= hi, (r.alpha, r.beta)
    assert r.lower_bound == 1.0
