"""P6: efficient PAC learnability gives efficient defense. The vote defender with the
span learner as a PAC learner (k = m_A(eta), independent of eps) keeps
alpha <= (8/3) eta + exp(-N/32) and beta <= 8 eta + exp(-N/32) for eps <= 1/(4 m_A(eta)),
and its cost per decision does not grow as eps shrinks (derived constants, THEORY §3).

Where each part has power. On parities no attacker has many valid rounds here: a flip
at x* costs the mass of a hyperplane {c.x = 1} holding x*; a basis c_1..c_r (r <= n) of
the span of the cheap c's (mass <= eps) has every cheap hyperplane inside the union of
its r hyperplanes, so backdoors are valid in at most n eps = n/(4 m_A(eta)) of the
rounds (0.025 at n = 8), far below 8 eta: beta over all rounds cannot fail, even for
`accept`. Its power
is beta among valid rounds, on a cell played long enough for 100 valid rounds of
`mixture` (5,000 rounds, under the `void` rule so that the defender decides only the
valid ones). alpha has power on the uniform cube (`point-flip`, which finds no flip
within eps there), where a learner that cannot span GF(2)^n errs on half the inputs;
under `mixture` D sits on one point labelled 0 but for n eps of its mass, and no
defender that keeps g's label there could fail alpha.

Negative controls, through the same check: `accept` (beta = 1 among valid rounds,
above 8 eta + exp(-N/32) = 0.82), and vote with k = 4 instead of m_A(eta) = 79 (a
4-dimensional span: alpha about 1/2, above (8/3) eta + exp(-N/32) = 0.29).
"""

from __future__ import annotations

import math

import pytest

from theory_ci import MIN_VALID, alpha_ci, beta_ci, beta_valid_ci
from defendability import Game
from defendability.game import GameResult

ETA = 0.1
VOTERS = math.ceil(32 * math.log(2 / 0.05))  # the default N for delta = 0.05: 119
SLACK = math.exp(-VOTERS / 32)
PAC = f"vote:learner=span,eta={ETA}"


def pac_k(n: int) -> int:
    """m_A(eta) of the span learner on n-bit parities: ceil(n/eta) - 1."""
    return math.ceil(n / ETA) - 1


def pac_eps(n: int) -> float:
    """The largest eps the guarantee covers: 1/(4 m_A(eta))."""
    return 1 / (4 * pac_k(n))


def pac_violations(r: GameResult, check_beta: bool) -> list[str]:
    """The parts of P6 that ``r`` violates (99.9% intervals): ``alpha`` above
    (8/3) eta + exp(-N/32); with ``check_beta``, ``valid rounds`` (fewer than 100),
    ``beta`` and ``beta among valid rounds`` above 8 eta + exp(-N/32)."""
    out = []
    if alpha_ci(r)[0] > 8 / 3 * ETA + SLACK:
        out.append("alpha")
    if check_beta:
        if r.valid_rounds < MIN_VALID:
            out.append("valid rounds")
        if beta_ci(r)[0] > 8 * ETA + SLACK:
            out.append("beta")
        if beta_valid_ci(r)[0] > 8 * ETA + SLACK:
            out.append("beta among valid rounds")
    return out


@pytest.mark.parametrize("n", [8, 12, 16, 20])
def test_pac_defender_meets_its_alpha_bound(n: int) -> None:
    # the uniform cube: no flip is within eps (valid rounds: none), every clean input counts
    r = Game(f"parities:n={n}", "point-flip", PAC, pac_eps(n)).play(rounds=300, seed=61)
    assert r.valid_rounds == 0
    assert pac_violations(r, check_beta=False) == [], r.alpha
    assert r.cost["samples_per_decision"] == VOTERS * pac_k(n)


@pytest.fixture(scope="module")
def long_mixture() -> tuple[GameResult, GameResult]:
    """vote and accept on the n = 8 mixture cell: 5,000 rounds, about 110 valid (n eps =
    7/316 of them), the others void before the defender decides."""
    game = {name: Game("parities:n=8", "mixture", name, pac_eps(8), invalid_policy="void").play(rounds=5000, seed=64)
            for name in (PAC, "accept")}
    return game[PAC], game["accept"]


def test_pac_defender_meets_its_beta_bound_among_valid_rounds(long_mixture: tuple[GameResult, GameResult]) -> None:
    r, _ = long_mixture
    assert r.valid_rounds >= MIN_VALID, r.valid_rounds
    assert pac_violations(r, check_beta=True) == [], (r.alpha, r.beta, r.beta_valid)


def test_control_accept_fails_the_beta_check(long_mixture: tuple[GameResult, GameResult]) -> None:
    _, accept = long_mixture
    # accept's beta over all rounds is the valid fraction, about n eps: below 8 eta, so
    # only the check among valid rounds can reject it
    assert pac_violations(accept, check_beta=True) == ["beta among valid rounds"], accept.beta_valid


def test_control_too_few_examples_fail_the_alpha_check() -> None:
    """The PAC defender's 79 examples span GF(2)^8 (alpha about 0); 4 examples span at
    most a 16-point subspace, outside which a voter predicts 0: wrong for half the inputs."""
    r = Game("parities:n=8", "point-flip", "vote:learner=span,k=4", pac_eps(8)).play(rounds=300, seed=61)
    assert pac_violations(r, check_beta=False) == ["alpha"], r.alpha


def test_cost_does_not_grow_as_eps_shrinks() -> None:
    k = pac_k(12)
    for eps in (1e-3, 1e-4, 1e-5):
        r = Game("parities:n=12", "mixture", PAC, eps).play(rounds=30, seed=62)
        assert r.cost["samples_per_decision"] == VOTERS * k
        # g labels each distinct point drawn once, so its evaluations are at most N*k + 1
        assert r.cost["evaluations_per_decision"] <= VOTERS * k + 1
    # the statistical vote (k = 1/(4 eps)) pays 100x more samples for 100x smaller eps
    stat = [Game("parities:n=12", "mixture", "vote:learner=span", eps).play(rounds=5, seed=63)
            .cost["samples_per_decision"] for eps in (1e-3, 1e-5)]
    assert stat[1] == pytest.approx(100 * stat[0], rel=0.01)
