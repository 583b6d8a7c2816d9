"""P10: the Boltzmann defender (lambda = 0.6/eps, uniform prior on a finite class).

Two claims (THEORY.md §2.1, §8, derived):

1. **The bound.** alpha + beta <= B = 14.4 eps (ln|F| + ln(1/eps) + 1) + CI, checked
   against an attacker with at least 100 valid rounds at a cell where B < 1/2. B < 1/2
   needs eps (ln|F| + ln(1/eps) + 1) < 0.035, and an attacker with a valid flip at every
   trigger needs |F| >= 1/eps (a member differs from f on at most eps of the mass), so
   the cell is small only near eps = 1/400: the subsets of [400] of size at most 1
   (|F| = 401) under the uniform D, eps = 1/400 (B = 0.467), and an attacker that
   starts from the empty set and adds x* (the cheapest flip there, at distance exactly
   eps). The same check must fail for `accept` and for lambda 1000x too large: the
   posterior then sits on g alone, so no input is ever rejected, and both miss every
   backdoor.
2. **The mixture.** Against `mixture`, alpha + beta is within the interval of the
   lower bound (d-1) eps: on the class of all labellings of 4 points (d = 4) every
   pattern has the same prior weight, so the posterior keeps g's label wherever the
   sample shows it (alpha about 0) and a flipped trigger, which has the law of a clean
   input, is accepted (beta about (d-1) eps). Controls: the key-holder with trace
   access (alpha + beta = 0, below the bound) and a coin that rejects half of all inputs
   (alpha about 1/2, above it).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from scripted import Coin
from theory_ci import MIN_VALID, alpha_ci, error_sum_ci, zero_error_upper
from defendability import play
from defendability.attackers.point_flip import PointFlip
from defendability.classes.base import Function, FunctionClass
from defendability.classes.table import Table
from defendability.game import GameResult
from defendability.spaces import Distribution

N = 400
CLASS, EPS = f"subsets:N={N},d=1", 1 / N
SIZE = N + 1  # the empty set and the N singletons
BOUND_ROUNDS = 110


class FlipFromEmpty(PointFlip):
    """`point-flip` from f = the empty set: f* = {x*}, at distance exactly 1/N.

    (From a singleton {j}, the cheapest flip at x* != j costs 2/N, more than eps = 1/N:
    `point-flip`'s random f would leave most rounds without a valid backdoor.)"""

    name = "flip-from-empty"

    def setup(self, cls: FunctionClass, eps: float, rng: np.random.Generator) -> tuple[Distribution, Function]:
        return cls.default_distribution(), cls.member([])


def boltzmann_bound(size: int, eps: float) -> float:
    """B = 14.4 eps (ln|F| + ln(1/eps) + 1) (derived, THEORY.md §2.1)."""
    return 14.4 * eps * (math.log(size) + math.log(1 / eps) + 1)


def bound_violations(r: GameResult) -> list[str]:
    """Claim 1, as the parts violated: at least 100 valid rounds, and alpha + beta <= B
    within the 99.9% interval (its lower end not above B)."""
    out = []
    if r.valid_rounds < MIN_VALID:
        out.append(f"{r.valid_rounds} valid rounds")
    lo = error_sum_ci(r)[0]
    if lo > boltzmann_bound(SIZE, EPS):
        out.append(f"alpha + beta = {r.error_sum:.3f} (lower end {lo:.3f}) above {boltzmann_bound(SIZE, EPS):.3f}")
    return out


def test_the_cell_is_one_where_the_bound_says_something() -> None:
    assert boltzmann_bound(SIZE, EPS) < 0.5


@pytest.mark.parametrize("defender,fails", [("boltzmann", False), ("accept", True),
                                            (f"boltzmann:lam={1000 * 0.6 / EPS}", True)])
def test_boltzmann_meets_its_bound_and_the_controls_do_not(defender: str, fails: bool) -> None:
    r = play(CLASS, FlipFromEmpty(), defender, eps=EPS, rounds=BOUND_ROUNDS, seed=102)
    assert r.valid_rounds == BOUND_ROUNDS, r.invalid_reasons
    violations = bound_violations(r)
    if fails:  # accept, and the posterior frozen on g: every backdoor is missed
        assert len(violations) == 1 and "above" in violations[0] and r.beta == 1.0, violations
    else:
        assert violations == [], (r.alpha, r.beta)


def cube() -> Table:
    """All 16 labellings of 4 points: d = 4, the same prior weight on every pattern."""
    table = Table.from_rows(np.array(list(itertools.product([0, 1], repeat=4))))
    assert table.vc_dimension == 4
    return table


def mixture_violations(r: GameResult, eps: float) -> list[str]:
    """Claim 2, as the parts violated: (d-1) eps = 3 eps inside the 99.9% interval of
    alpha + beta."""
    lo, hi = error_sum_ci(r)
    if not lo <= 3 * eps <= hi:
        return [f"alpha + beta = {r.error_sum:.4f}, interval [{lo:.4f}, {hi:.4f}] excludes 3 eps = {3 * eps}"]
    return []


@pytest.mark.parametrize("eps", [0.02, 0.05, 0.1])
def test_boltzmann_sits_at_the_lower_bound(eps: float) -> None:
    assert zero_error_upper(800) < 3 * eps  # a defender without errors would fail the check
    r = play(cube(), "mixture", "boltzmann", eps=eps, rounds=800, seed=101)
    assert mixture_violations(r, eps) == []
    assert alpha_ci(r)[0] == 0.0


@pytest.mark.parametrize("defender,trace", [("key-holder", True), (Coin(0.5), False)], ids=["key-holder", "coin"])
def test_control_off_the_lower_bound_fails_the_mixture_check(defender: object, trace: bool) -> None:
    r = play(cube(), "mixture", defender, eps=0.05, rounds=800, seed=101, trace=trace)
    assert mixture_violations(r, 0.05), (r.alpha, r.beta)
