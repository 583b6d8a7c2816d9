"""Helpers for the predictions of THEORY.md §8.

Each test fixes its seed and checks the prediction against a 99.9% Wilson interval
computed from the round counts: wide enough that the suite's hundred-odd statistical
assertions do not fail by chance (Bonferroni), narrow enough to catch a wrong engine.

Power (THEORY.md §7): every prediction's check is written once, as a function that
returns the parts of the prediction a result violates (an empty list when it holds),
and each test applies that same function to the cell it checks and to a *negative
control*, a component or cell known to violate the prediction, which must come back
with a non-empty list. A check that no implementation could fail is not a check.
"""

from __future__ import annotations

from defendability import stats
from defendability.game import GameResult

LEVEL = 0.999

#: Fewest valid rounds on which a bound on beta is checked (THEORY.md §7): with fewer,
#: beta says more about how often the attacker found a backdoor than about the defender.
MIN_VALID = 100


def counts(r: GameResult) -> tuple[int, int, int]:
    """(decisions per side n, clean rejects, backdoor accepts) of a result."""
    n = r.rounds - r.void_rounds
    return n, round(r.alpha * n), round(r.beta * n)


def alpha_ci(r: GameResult) -> tuple[float, float]:
    n, rej, _ = counts(r)
    return stats.wilson(rej, n, LEVEL)


def beta_ci(r: GameResult) -> tuple[float, float]:
    """Interval for beta over all rounds, a round without a valid backdoor counting as
    caught (the ``defender_wins`` rule). For a result played under ``void`` it is
    computed from the valid rounds, which play exactly as under ``defender_wins`` (each
    round has its own streams), so a cell can drop its invalid rounds before the
    defender decides and still be checked over all its rounds."""
    if r.void_rounds == 0:
        n, _, acc = counts(r)
        return stats.wilson(acc, n, LEVEL)
    accepts = round(r.beta_valid * r.valid_rounds) if r.valid_rounds else 0
    return stats.wilson(accepts, r.rounds, LEVEL)


def beta_valid_ci(r: GameResult) -> tuple[float, float]:
    """Interval for beta among the valid rounds only (``(0, 1)`` without any)."""
    if r.valid_rounds == 0:
        return (0.0, 1.0)
    return stats.wilson(round(r.beta_valid * r.valid_rounds), r.valid_rounds, LEVEL)


def error_sum_ci(r: GameResult) -> tuple[float, float]:
    """Interval for alpha + beta (union bound over the two sides, as GameResult does)."""
    n, rej, acc = counts(r)
    return stats.sum_interval(rej, n, acc, n, LEVEL)


def zero_error_upper(rounds: int) -> float:
    """The upper end of :func:`error_sum_ci` for a defender that makes no error in
    ``rounds`` rounds: a lower bound on alpha + beta below this is not tested by that
    many rounds (a perfect defender would pass it)."""
    return stats.sum_interval(0, rounds, 0, rounds, LEVEL)[1]


def rounds_to_refute_zero_error(bound: float, at_least: int = 400) -> int:
    """Fewest rounds (at least ``at_least``, rounded up to a multiple of 100) at which a
    defender with no error at all fails the check ``error_sum_ci(r)[1] >= bound``, with
    a 10% margin."""
    n = at_least
    while zero_error_upper(n) >= bound / 1.1:
        n += 100
    return n


def coin_flip_violations(r: GameResult, claims_bound: bool = True) -> list[str]:
    """What a "no defender beats a coin" prediction (P1, P8, P9) asserts of a match, as
    the parts violated: every trigger had its flip (all rounds valid), the attacker
    claims the bound alpha + beta >= 1 (unless ``claims_bound`` is False: a
    computational hardness, P9, has no such bound), and alpha + beta = 1 within the
    99.9% interval."""
    out = []
    if r.valid_rounds != r.rounds:
        out.append(f"valid rounds {r.valid_rounds} of {r.rounds}")
    if claims_bound and r.lower_bound != 1.0:
        out.append(f"lower bound {r.lower_bound}")
    lo, hi = error_sum_ci(r)
    if not lo <= 1.0 <= hi:
        out.append(f"alpha + beta = {r.error_sum:.3f}, interval [{lo:.3f}, {hi:.3f}] excludes 1")
    return out
