"""Helpers for the predictions of THEORY.md §8.

Each test fixes its seed and checks the prediction against a 99.9% Wilson interval
computed from the round counts: wide enough that the ~60 statistical assertions of
the suite do not fail by chance (Bonferroni), narrow enough to catch a wrong engine.
"""

from __future__ import annotations

from defendability import stats
from defendability.game import GameResult

LEVEL = 0.999


def counts(r: GameResult) -> tuple[int, int, int]:
    """(decisions per side n, clean rejects, backdoor accepts) of a result."""
    n = r.rounds - r.void_rounds
    return n, round(r.alpha * n), round(r.beta * n)


def alpha_ci(r: GameResult) -> tuple[float, float]:
    n, rej, _ = counts(r)
    return stats.wilson(rej, n, LEVEL)


def beta_ci(r: GameResult) -> tuple[float, float]:
    n, _, acc = counts(r)
    return stats.wilson(acc, n, LEVEL)


def error_sum_ci(r: GameResult) -> tuple[float, float]:
    """Interval for alpha + beta (union bound over the two sides, as GameResult does)."""
    n, rej, acc = counts(r)
    return stats.sum_interval(rej, n, acc, n, LEVEL)
