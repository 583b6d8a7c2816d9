"""P2 (L2, mixture): every defender has alpha + beta >= m*eps, m = min(d-1, floor(1/eps))
(= (d-1) eps in THEORY's regime).

Power: a lower bound is tested only if a defender that makes no error at all would
fail it. With R rounds the interval of alpha + beta for zero errors reaches about 24/R
(99.9%, union bound over the two sides), so each cell plays enough rounds that this is
below the bound (:func:`theory_ci.rounds_to_refute_zero_error`), and the test asserts
it. The three cells with the smallest bounds need 1,400 to 3,000 rounds; there only
`accept` and `vote` play (the slower `distill` and `pool-vote` play the nine others),
to keep the suite's time. Negative control: the key-holder with trace access (told
the attacker's tape, so it wins every round), which the same check must reject."""

from __future__ import annotations

import pytest

from theory_ci import error_sum_ci, rounds_to_refute_zero_error, zero_error_upper
from defendability import play
from defendability.game import GameResult

DEFENDERS = ["accept", "vote:learner=closure", "distill:learner=closure", "pool-vote:learner=closure"]
DS = [10, 20, 40]
EPSS = [0.001, 0.002, 0.01, 0.05]
#: Rounds above which a cell is played by these defenders only.
MANY_ROUNDS, FEW_DEFENDERS = 1000, DEFENDERS[:2]


def mixture_bound(d: int, eps: float) -> float:
    """L2's bound m*eps, m = min(d-1, floor(1/eps)) (the attacker's ``lower_bound``)."""
    return min(d - 1, int(1 / eps + 1e-9)) * eps


def cell_rounds(d: int, eps: float) -> int:
    """Rounds for the cell (d, eps): enough that zero errors fail the check."""
    return rounds_to_refute_zero_error(mixture_bound(d, eps))


def mixture_violations(r: GameResult, d: int, eps: float) -> list[str]:
    """What P2 asserts of a match against `mixture`, as the parts violated: the attacker
    reports the bound m*eps, and alpha + beta >= m*eps within the 99.9% interval."""
    bound, out = mixture_bound(d, eps), []
    if r.lower_bound != pytest.approx(bound):
        out.append(f"lower bound {r.lower_bound} != {bound}")
    hi = error_sum_ci(r)[1]
    if hi < bound:
        out.append(f"alpha + beta = {r.error_sum:.4f} (upper end {hi:.4f}) below the bound {bound:.4f}")
    return out


CELLS = [(defender, eps, d) for d in DS for eps in EPSS
         for defender in (FEW_DEFENDERS if cell_rounds(d, eps) > MANY_ROUNDS else DEFENDERS)]


@pytest.mark.parametrize("defender,eps,d", CELLS)
def test_every_defender_pays_the_mixture_bound(defender: str, eps: float, d: int) -> None:
    rounds = cell_rounds(d, eps)
    assert zero_error_upper(rounds) < mixture_bound(d, eps)  # the cell can fail
    r = play(f"subsets:N={d},d={d}", "mixture", defender, eps=eps, rounds=rounds, seed=21)
    assert mixture_violations(r, d, eps) == []


def test_boltzmann_pays_the_mixture_bound_too() -> None:
    assert zero_error_upper(400) < 9 * 0.05
    r = play("subsets:N=10,d=10", "mixture", "boltzmann", eps=0.05, rounds=400, seed=22)
    assert mixture_violations(r, 10, 0.05) == []


@pytest.mark.parametrize("d,eps", [(20, 0.002), (10, 0.01)])
def test_control_a_defender_told_the_trigger_fails_the_check(d: int, eps: float) -> None:
    """The key-holder knows f from the attacker's tape (trace access, not the game L2 is
    about), so it has alpha = beta = 0: played on a cell for that cell's rounds, the
    mixture check must reject it. (Every cell asserts the same of zero errors by
    computing the interval; these two play it.)"""
    r = play(f"subsets:N={d},d={d}", "mixture", "key-holder", eps=eps, rounds=cell_rounds(d, eps), seed=21,
             trace=True)
    assert r.error_sum == 0.0 and r.valid_rounds > 0
    violations = mixture_violations(r, d, eps)
    assert len(violations) == 1 and "below the bound" in violations[0], violations
