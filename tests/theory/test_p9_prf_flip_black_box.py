"""P9 (oracle mode): against prf-flip on PRF oracles with n = 32, a query-only defender
sits at a coin flip: alpha + beta = 1 (win rate 1/2) within the 99.9% interval.

By punctured-PRF security, (f*, x*) and (f, x) are indistinguishable with queries only:
around x* the backdoored function takes F_K's pseudorandom values, and its value at x*
is a fresh-looking bit, exactly as a clean function's value at a fresh x. The suite
checks it for the natural local test (neighbours), for distillation plus ensembling
with a generic learner (vote; a PRF is not learnable, so the voters guess), and for the
trivial defender (accept), which sits at alpha + beta = 1 by construction.

Negative control: the key-holder with trace access (THEORY.md §5.3) reads the
attacker's tape, hence the PRF key: it wins every round (alpha + beta = 0), and the
same check must reject it. What makes the others sit at a coin flip is the missing key.
"""

from __future__ import annotations

import pytest
from theory_ci import coin_flip_violations

# imported for their registrations: prf-flip, prf-oracles, neighbours, estimator
import defendability.learners.estimator  # noqa: F401
from defendability import play

EPS = 1e-3

CASES = [
    ("prf-flip", "accept", 200),
    ("prf-flip", "neighbours", 200),
    ("prf-flip:prg=sha256", "neighbours:r=5", 400),
    # a short vote (a decision tree per voter) keeps the test fast; whatever the learner,
    # it sees pseudorandom labels
    ("prf-flip:prg=aes-mmo", "vote:learner=estimator:model=tree,k=32,voters=9", 200),
]


@pytest.mark.parametrize("attacker,defender,rounds", CASES)
def test_query_only_defenders_sit_at_a_coin_flip(attacker: str, defender: str, rounds: int) -> None:
    r = play("prf-oracles:n=32", attacker, defender, eps=EPS, rounds=rounds, seed=909)
    assert coin_flip_violations(r, claims_bound=False) == [], (r.alpha, r.beta, r.invalid_reasons)


def test_control_the_key_holder_fails_the_check() -> None:
    r = play("prf-oracles:n=32", "prf-flip", "key-holder", eps=EPS, rounds=200, seed=909, trace=True)
    violations = coin_flip_violations(r, claims_bound=False)
    assert len(violations) == 1 and "excludes 1" in violations[0], (violations, r.invalid_reasons)
