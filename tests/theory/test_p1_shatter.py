"""P1 (L1, symmetric shattering): at eps = 1/d, (f*, x*) has the law of (f, x), so
alpha + beta = 1 and the win rate is 1/2 for every defender.

Negative control: the key-holder with trace access (THEORY.md §5.3) is told the
attacker's random tape, hence f, and wins every round (alpha + beta = 0): the same
check must reject it, which shows that 500 rounds tell a coin flip from a defender
that knows where the backdoor is."""

from __future__ import annotations

import pytest

from theory_ci import coin_flip_violations
from defendability import play

CASES = [
    ("subsets:N=5,d=5", 5, ["accept", "vote:learner=closure", "distill:learner=closure",
                            "pool-vote:learner=closure", "boltzmann"]),
    ("subsets:N=10,d=10", 10, ["vote:learner=closure", "distill:learner=closure", "boltzmann"]),
    ("subsets:N=40,d=20", 20, ["vote:learner=closure", "pool-vote:learner=closure"]),
    ("parities:n=8", 8, ["vote:learner=span", "distill:learner=span", "boltzmann"]),
]
ROUNDS = 500


@pytest.mark.parametrize("cls,d,defender", [(c, d, x) for c, d, ds in CASES for x in ds])
def test_no_defender_beats_a_coin_at_eps_one_over_d(cls: str, d: int, defender: str) -> None:
    r = play(cls, "shatter", defender, eps=1 / d, rounds=ROUNDS, seed=11)
    assert coin_flip_violations(r) == [], (r.alpha, r.beta)


@pytest.mark.parametrize("cls,d", [("subsets:N=10,d=10", 10), ("parities:n=8", 8)])
def test_control_a_defender_told_the_trigger_fails_the_check(cls: str, d: int) -> None:
    """The key-holder replays the attacker's tape: it knows f, so it never rejects f and
    always rejects f* at x* (alpha = beta = 0, the trace game of THEORY.md §5.3, not the
    game P1 is about). The coin-flip check must refuse it."""
    r = play(cls, "shatter", "key-holder", eps=1 / d, rounds=ROUNDS, seed=11, trace=True)
    assert r.error_sum == 0.0
    violations = coin_flip_violations(r)
    assert len(violations) == 1 and "excludes 1" in violations[0], violations
