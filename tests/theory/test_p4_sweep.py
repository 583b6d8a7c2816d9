"""P4: alpha + beta of the vote defender grows about linearly in eps*d, between the
mixture lower bound (d-1) eps and the vote's derived limit (32/3 + 32) d eps = (128/3)
d eps (the sum of P3's limits on alpha and beta), and reaches 1 once eps*d >= 1.

The check (:func:`sweep_violations`) reads a whole sweep: at each mixture cell the
upper limit, and the lower bound where the cell's rounds give it power (a defender
with no error at all must fail it: the cells at eps*d = 0.001 and 0.01 would need
30,000 and 3,000 rounds, so they are checked against the upper limit only); the growth,
as the log-log slope between the smallest and the largest cell with that power, whose
interval (from the two cells' intervals) must contain 1; and alpha + beta = 1 within
the interval at eps*d = 1 and 2 (`shatter`).

Negative controls, through the same check: the key-holder with trace access (told the
attacker's tape: alpha + beta = 0, below the lower bound and far from 1 at eps*d >= 1),
and a coin that rejects half of all inputs (tests/scripted.py; alpha + beta about 1/2 at
every eps*d: above the upper limit where eps*d is small, and a slope near 0).
"""

from __future__ import annotations

import math

from scripted import Coin
from theory_ci import error_sum_ci, zero_error_upper
from defendability import play
from defendability.defenders.base import Defender
from defendability.game import GameResult

D = 10
CLASS = f"subsets:N=64,d={D}"
DEFENDER = "vote:learner=closure,voters=151"
# (eps*d, rounds); the first two cells are checked against the upper limit only, where
# 400 rounds leave a wide margin
MIXTURE_CELLS = [(0.001, 400), (0.01, 400), (0.03, 1000), (0.1, 800), (0.3, 800)]
SATURATED_CELLS = [(1.0, 400), (2.0, 400)]


def sweep(defender: Defender | str, mixture_cells: list[tuple[float, int]], saturated_cells: list[tuple[float, int]],
          **rules: object) -> dict[float, GameResult]:
    """eps*d -> GameResult: `mixture` below eps*d = 1, `shatter` from 1 on."""
    out = {ed: play(CLASS, "mixture", defender, eps=ed / D, rounds=rounds, seed=41, **rules)
           for ed, rounds in mixture_cells}
    out.update({ed: play(CLASS, "shatter", defender, eps=ed / D, rounds=rounds, seed=42, **rules)
                for ed, rounds in saturated_cells})
    return out


def has_power(ed: float, rounds: int) -> bool:
    """Whether a mixture cell's rounds let a defender without errors fail the lower bound."""
    return zero_error_upper(rounds) < (D - 1) * ed / D


def sweep_violations(results: dict[float, GameResult]) -> list[str]:
    """The parts of P4 that a sweep violates (eps*d -> result), as readable strings."""
    out = []
    powered = []
    for ed, r in sorted(results.items()):
        lo, hi = error_sum_ci(r)
        if ed >= 1:
            if not lo <= 1.0 <= hi:
                out.append(f"eps*d = {ed}: alpha + beta = {r.error_sum:.3f}, not 1")
            continue
        eps = ed / D
        if lo > 128 / 3 * D * eps:
            out.append(f"eps*d = {ed}: alpha + beta = {r.error_sum:.4f} above (128/3) d eps")
        if has_power(ed, r.rounds):
            powered.append((ed, lo, hi))
            if hi < (D - 1) * eps:
                out.append(f"eps*d = {ed}: alpha + beta = {r.error_sum:.4f} below (d-1) eps")
    if len(powered) < 2:
        out.append("fewer than two cells can test the lower bound: no slope")
    else:
        (ed_a, lo_a, hi_a), (ed_b, lo_b, hi_b) = powered[0], powered[-1]
        span = math.log(ed_b / ed_a)
        slope_lo = math.log(lo_b / hi_a) / span if lo_b > 0 else -math.inf
        slope_hi = math.log(hi_b / lo_a) / span if lo_a > 0 else math.inf
        if not slope_lo <= 1.0 <= slope_hi:
            out.append(f"slope in [{slope_lo:.2f}, {slope_hi:.2f}] excludes 1")
    return out


def test_error_grows_linearly_then_saturates() -> None:
    results = sweep(DEFENDER, MIXTURE_CELLS, SATURATED_CELLS)
    assert sum(has_power(ed, rounds) for ed, rounds in MIXTURE_CELLS) == 3
    assert sweep_violations(results) == [], {ed: r.error_sum for ed, r in results.items()}


def test_control_a_defender_told_the_trigger_fails_the_check() -> None:
    """The key-holder makes no error: below the lower bound at every cell with power, and
    alpha + beta = 0 where it must be 1. (Played on two of the cells with power and one
    saturated cell, which are enough to refute it.)"""
    results = sweep("key-holder", MIXTURE_CELLS[3:], SATURATED_CELLS[:1], trace=True)
    violations = sweep_violations(results)
    assert sum("below (d-1) eps" in v for v in violations) == 2, violations
    assert any("not 1" in v for v in violations), violations


def test_control_a_constant_error_fails_the_check() -> None:
    """A coin that rejects with probability 1/2 has alpha about 1/2 at every eps*d: above
    (128/3) d eps = 0.043 at eps*d = 0.001 (at 0.01 the limit, 0.43, is inside the
    interval of 400 rounds), and no growth (slope near 0)."""
    violations = sweep_violations(sweep(Coin(0.5), MIXTURE_CELLS, []))
    assert [v for v in violations if "above" in v or "slope" in v] == violations, violations
    assert violations[0].startswith("eps*d = 0.001:") and "above (128/3) d eps" in violations[0], violations
    assert violations[-1].startswith("slope"), violations
