"""P5: ensembling matters. With a poison-sensitive learner, vote's alpha + beta is
O(d eps) while a single voter (distill) is worse, about sqrt(d eps) (THEORY.md §2.1).

The cell: subsets of [N] with d = 10 under the uniform D, `point-flip`, eps = 2/N (the
cheapest flip costs 1/N or 2/N, so every trigger is flippable), the closure learner,
which is poison-sensitive: a voter whose batch holds x* with f*'s label 1 predicts 1
there. The derived numbers for this cell (|S| <= d, x* in S with probability at most
d/N = d eps/2):

- vote (k = floor(1/(4 eps)) = N/8, N_v = 119 voters): a clean x is rejected only if
  x is in S (alpha <= d/N); a backdoor is accepted only if x* was in S or a majority of
  batches holds x* (each does with probability <= k/N = 1/8; Hoeffding: < e^-33). So
  alpha + beta <= d eps.
- distill with the batch size that is best for one voter, k = ceil(sqrt(d/eps)): it is
  poisoned whenever its batch holds x*, so beta >= (1 - d/N)(1 - (1 - 1/N)^k), about
  k/N = sqrt(d eps)/2; and alpha + beta <= 2d/N + k/N = d eps + k eps/2, about
  sqrt(d eps)/2 + d eps. That is the sqrt(d eps) of THEORY, with constant 1/2 here.
- distill with its default k = N/8: beta about 1 - e^(-1/8) = 0.12, whatever d eps.

Each claim is one check applied to the defender it is about and to the other, which
must fail it: distill fails vote's O(d eps) check; vote fails distill's sqrt(d eps)
check (it is far below it). Two values of d eps, 4x apart, show the two scalings.
"""

from __future__ import annotations

import functools
import math

import pytest

from theory_ci import error_sum_ci
from defendability import play
from defendability.game import GameResult

D = 10
# N -> rounds; eps = 2/N, so d eps = 0.05 and 0.0125
CELLS = {400: 1500, 1600: 1000}


def eps_of(N: int) -> float:
    return 2 / N


def single_voter_k(N: int) -> int:
    """The batch size that minimises one voter's bound k eps + d/(k+1): about sqrt(d/eps)."""
    return math.ceil(math.sqrt(D / eps_of(N)))


@functools.cache
def outcome(N: int, defender: str) -> GameResult:
    """The match of ``defender`` in the cell with domain size N (shared by the tests)."""
    return play(f"subsets:N={N},d={D}", "point-flip", defender, eps=eps_of(N), rounds=CELLS[N], seed=51)


def distill_at_best_k(N: int) -> str:
    return f"distill:learner=closure,k={single_voter_k(N)}"


def order_d_eps_violations(r: GameResult, N: int) -> list[str]:
    """vote's claim: alpha + beta <= d eps (derived above), within the 99.9% interval."""
    lo = error_sum_ci(r)[0]
    return [] if lo <= D * eps_of(N) else [f"alpha + beta = {r.error_sum:.4f} > d eps = {D * eps_of(N):.4f}"]


def sqrt_band(N: int) -> tuple[float, float]:
    """distill's derived band for alpha + beta at k = ceil(sqrt(d/eps))."""
    k = single_voter_k(N)
    low = (1 - D / N) * (1 - (1 - 1 / N) ** k)
    return low, 2 * D / N + k / N


def order_sqrt_violations(r: GameResult, N: int) -> list[str]:
    """distill's claim: alpha + beta in the derived band around sqrt(d eps)/2, within the
    99.9% interval."""
    low, high = sqrt_band(N)
    lo, hi = error_sum_ci(r)
    out = []
    if hi < low:
        out.append(f"alpha + beta = {r.error_sum:.4f} below {low:.4f}")
    if lo > high:
        out.append(f"alpha + beta = {r.error_sum:.4f} above {high:.4f}")
    return out


@pytest.mark.parametrize("N", sorted(CELLS))
def test_the_band_is_about_sqrt_d_eps(N: int) -> None:
    # the derived band is sqrt(d eps)/2 up to lower-order terms: it scales as sqrt(d eps)
    root = math.sqrt(D * eps_of(N))
    low, high = sqrt_band(N)
    assert 0.45 * root <= low < high <= 0.5 * root + D * eps_of(N) + 0.01


@pytest.mark.parametrize("N", sorted(CELLS))
def test_vote_is_order_d_eps(N: int) -> None:
    r = outcome(N, "vote:learner=closure")
    assert r.valid_rounds == r.rounds
    assert order_d_eps_violations(r, N) == [], r.error_sum


@pytest.mark.parametrize("N", sorted(CELLS))
def test_distill_is_order_sqrt_d_eps(N: int) -> None:
    r = outcome(N, distill_at_best_k(N))
    assert r.valid_rounds == r.rounds
    assert order_sqrt_violations(r, N) == [], r.error_sum


def test_vote_beats_distill_against_poisoning() -> None:
    """At the defaults (k = floor(1/(4 eps)) = 50 for both), distill misses about
    P(x* in its batch) = 1 - (1 - 1/400)^50 = 0.12, far more often than vote."""
    vote, distill = outcome(400, "vote:learner=closure"), outcome(400, "distill:learner=closure")
    assert error_sum_ci(distill)[0] > error_sum_ci(vote)[1]


@pytest.mark.parametrize("N", sorted(CELLS))
def test_control_distill_fails_the_order_d_eps_check(N: int) -> None:
    """A single voter is not O(d eps): at its best k it sits near sqrt(d eps)/2, which is
    2.2x (d eps = 0.05) and 4.5x (0.0125) above d eps."""
    assert order_d_eps_violations(outcome(N, distill_at_best_k(N)), N)


def test_control_default_distill_fails_the_order_d_eps_check() -> None:
    assert order_d_eps_violations(outcome(400, "distill:learner=closure"), 400)


@pytest.mark.parametrize("N", sorted(CELLS))
def test_control_vote_fails_the_sqrt_check(N: int) -> None:
    """vote is far below the single voter's band: the sqrt(d eps) check must notice."""
    violations = order_sqrt_violations(outcome(N, "vote:learner=closure"), N)
    assert len(violations) == 1 and "below" in violations[0], violations
