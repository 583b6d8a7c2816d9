"""P3: the vote defender (closure or span, N >= 201) keeps alpha < (32/3) d eps and
beta < 32 d eps, beta also among valid rounds only (the limits as N grows of the
finite-N bounds alpha <= (8/3) e(k) + e^(-N/32), beta <= 8 e(k) + e^(-N/32) with
e(k) < 4 d eps, THEORY.md §2.1, derived), and respects the finite-N guarantee it
reports.

Where each part has power. beta is checked only on cells with at least 100 valid
rounds (THEORY.md §7), which `point-flip` gives (every trigger is flippable: on
subsets of [N] under the uniform D a flip costs at most 2/N <= eps) and so does
`worst-case` built on it. Against `mixture` a backdoor is valid in only (d-1) eps of
the rounds (13 of 600 here): those cells check alpha only. alpha has power wherever D
puts mass on inputs a voter can get wrong, as the uniform cube does for parities.

Negative controls, through the same check: `accept` (beta = 1 on every valid round);
vote with k 40x its derived floor(1/(4 eps)) (the batches almost all contain x*,
labelled f*(x*), so the majority agrees with f* there: beta near 1); vote with the
span learner and k = 4 instead of 125 (4 examples span a 4-dimensional subspace of
GF(2)^10, and a voter predicts 0 outside it: alpha near 1/2).
"""

from __future__ import annotations

import pytest

from theory_ci import MIN_VALID, alpha_ci, beta_ci, beta_valid_ci
from defendability import play
from defendability.game import GameResult

VOTE = "vote:learner=closure,voters=201"
SPAN = "vote:learner=span,voters=201"

# (class, attacker, defender, eps, rounds, whether beta is checked)
CELLS = [
    ("subsets:N=200,d=2", "point-flip", VOTE, 0.01, 600, True),
    ("subsets:N=100,d=1", "worst-case:base=point-flip,trials=8", VOTE, 0.02, 150, True),
    ("parities:n=10", "point-flip", SPAN, 0.002, 600, False),  # no flip within eps: alpha only
    ("subsets:N=64,d=10", "mixture", VOTE, 0.002, 600, False),
    ("subsets:N=64,d=10", "mixture", VOTE, 0.005, 600, False),
    ("parities:n=10", "mixture", SPAN, 0.002, 600, False),
    ("subsets:N=6,d=2", "worst-case:base=mixture,trials=8", VOTE, 0.02, 150, False),
]


def vote_bound_violations(r: GameResult, check_beta: bool) -> list[str]:
    """The parts of P3 that ``r`` violates: ``alpha`` (the lower end of its 99.9%
    interval is not below (32/3) d eps); with ``check_beta``, ``valid rounds`` (fewer
    than 100), ``beta`` and ``beta among valid rounds`` (not below 32 d eps);
    ``guarantee alpha`` / ``guarantee beta`` (above the finite-N bound the defender
    reports, when it reports one)."""
    d, eps, out = r.vc_dimension, r.eps, []
    if alpha_ci(r)[0] >= 32 / 3 * d * eps:
        out.append("alpha")
    if check_beta:
        if r.valid_rounds < MIN_VALID:
            out.append("valid rounds")
        if beta_ci(r)[0] >= 32 * d * eps:
            out.append("beta")
        if beta_valid_ci(r)[0] >= 32 * d * eps:
            out.append("beta among valid rounds")
    g = r.guarantee
    if g is not None:
        if alpha_ci(r)[0] > g["alpha"]:
            out.append("guarantee alpha")
        if beta_ci(r)[0] > g["beta"]:
            out.append("guarantee beta")
    return out


@pytest.mark.parametrize("cls,attacker,defender,eps,rounds,check_beta", CELLS)
def test_vote_stays_below_the_derived_limits(cls: str, attacker: str, defender: str, eps: float, rounds: int,
                                             check_beta: bool) -> None:
    r = play(cls, attacker, defender, eps=eps, rounds=rounds, seed=31)
    assert r.guarantee is not None  # tau = 1/2, k eps <= 1/4 and a known e(k): the bound applies
    if check_beta:
        assert r.valid_rounds >= MIN_VALID, r.valid_rounds
    assert vote_bound_violations(r, check_beta) == [], (r.alpha, r.beta, r.beta_valid)


@pytest.mark.parametrize("defender,rounds", [("accept", 600), ("vote:learner=closure,voters=201,k=1000", 200)])
def test_control_defenders_that_accept_backdoors_fail_the_beta_check(defender: str, rounds: int) -> None:
    """On the point-flip cell (2 d eps = 0.04, beta's limit 0.64), `accept` misses every
    backdoor; vote with k = 1000 (its derived k is 25) trains almost every voter on a
    batch holding x* with f*'s label (1 - (1 - 1/200)^1000 > 0.99), so the majority
    agrees with f* at x*. Both must fail beta and beta among valid rounds."""
    r = play("subsets:N=200,d=2", "point-flip", defender, eps=0.01, rounds=rounds, seed=31)
    assert r.valid_rounds == rounds
    violations = vote_bound_violations(r, check_beta=True)
    assert {"beta", "beta among valid rounds"} <= set(violations), (violations, r.beta)


def test_control_accept_fails_against_the_worst_case_attacker() -> None:
    r = play("subsets:N=100,d=1", "worst-case:base=point-flip,trials=8", "accept", eps=0.02, rounds=150, seed=31)
    assert {"beta", "beta among valid rounds"} <= set(vote_bound_violations(r, check_beta=True))


def test_control_a_span_vote_on_too_few_examples_fails_the_alpha_check() -> None:
    """k = 4 examples (the derived k is floor(1/(4 eps)) = 125) span at most 2^4 of the
    2^10 points; outside its span a voter predicts 0, wrong on half of them, so most
    voters disagree with g at a clean x with g(x) = 1: alpha is about 1/2, above
    (32/3) d eps = 0.21. The defender reports no guarantee for it (e(4) > 1)."""
    r = play("parities:n=10", "point-flip", "vote:learner=span,voters=201,k=4", eps=0.002, rounds=600, seed=31)
    assert vote_bound_violations(r, check_beta=False) == ["alpha"], r.alpha
