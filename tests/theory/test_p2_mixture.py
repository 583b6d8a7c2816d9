"""P2 (L2, mixture): every defender has alpha + beta >= m*eps, m = min(d-1, floor(1/eps))
(= (d-1) eps in THEORY's regime)."""

from __future__ import annotations

import pytest

from theory_ci import error_sum_ci
from defendability import play

DEFENDERS = ["accept", "vote:learner=closure", "distill:learner=closure", "pool-vote:learner=closure"]


@pytest.mark.parametrize("d", [10, 20, 40])
@pytest.mark.parametrize("eps", [0.001, 0.002, 0.01, 0.05])
@pytest.mark.parametrize("defender", DEFENDERS)
def test_every_defender_pays_the_mixture_bound(d, eps, defender):
    r = play(f"subsets:N={d},d={d}", "mixture", defender, eps=eps, rounds=400, seed=21)
    bound = min(d - 1, int(1 / eps + 1e-9)) * eps
    assert r.lower_bound == pytest.approx(bound)
    assert error_sum_ci(r)[1] >= bound


def test_boltzmann_pays_the_mixture_bound_too():
    r = play("subsets:N=10,d=10", "mixture", "boltzmann", eps=0.05, rounds=400, seed=22)
    assert error_sum_ci(r)[1] >= 9 * 0.05
