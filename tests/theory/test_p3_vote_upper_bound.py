"""P3: the vote defender (closure or span, N >= 201) keeps alpha < 8 d eps and
beta < 16 d eps against shatter, mixture and the adaptive worst-case attacker
(derived limits of THEORY.md §2.1 as N grows)."""

from __future__ import annotations

import pytest

from theory_ci import alpha_ci, beta_ci
from defendability import play

CELLS = [
    ("subsets:N=64,d=10", "mixture", "vote:learner=closure,voters=201", 0.002),
    ("subsets:N=64,d=10", "mixture", "vote:learner=closure,voters=201", 0.005),
    ("subsets:N=64,d=10", "shatter", "vote:learner=closure,voters=201", 0.002),
    ("parities:n=10", "mixture", "vote:learner=span,voters=201", 0.002),
    ("subsets:N=6,d=2", "worst-case:base=mixture,trials=8", "vote:learner=closure,voters=201", 0.02),
]


@pytest.mark.parametrize("cls,attacker,defender,eps", CELLS)
def test_vote_stays_below_the_derived_limits(cls, attacker, defender, eps):
    r = play(cls, attacker, defender, eps=eps, rounds=600 if "worst" not in attacker else 150, seed=31)
    d = r.vc_dimension
    assert alpha_ci(r)[0] < 8 * d * eps
    assert beta_ci(r)[0] < 16 * d * eps
    # and the finite-N guarantee the defender reports (derived) is respected
    g = r.guarantee
    assert g is not None and alpha_ci(r)[0] <= g["alpha"] and beta_ci(r)[0] <= g["beta"]
