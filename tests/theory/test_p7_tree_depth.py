"""P7 (THEORY.md §3, §8, derived constants): on trees with at most s leaves over
{0,1}^30 under the uniform distribution, the white-box `tree-depth` defender with
t = log2(s/delta) keeps alpha < delta and beta <= s^2 eps / delta against every
attacker, here `isolating-chain` and `hanging-junta`; empirically the transition
(the attacks go undetected above, are caught below) sits near eps ~ delta/s.

beta is checked (over all rounds and among valid rounds) only on cells with at least
100 valid rounds. Negative controls, through the same checks: the threshold t far off
its derived value log2(s/delta) = 9.3, at t = 30 (no tree here is that deep: it never
rejects, so every valid backdoor is missed, beta = 1 > s^2 eps/delta, and the
transition disappears) and at t = 2 (it rejects almost every clean input: alpha > delta).
"""

from __future__ import annotations

import math

import pytest
from theory_ci import LEVEL, MIN_VALID, alpha_ci, beta_ci, beta_valid_ci

from defendability import Game, stats
from defendability.game import GameResult

S, DELTA = 64, 0.1
CLASS, DEFENDER = f"trees:n=30,s={S}", f"tree-depth:delta={DELTA}"
T = math.log2(S / DELTA)  # 9.32: the transition sits between eps = 2^-9 and 2^-10


def depth_violations(r: GameResult, check_beta: bool) -> list[str]:
    """The parts of P7's bounds that ``r`` violates (99.9% intervals): ``alpha`` (not
    below delta); with ``check_beta``, ``valid rounds`` (fewer than 100), ``beta`` and
    ``beta among valid rounds`` (above s^2 eps/delta)."""
    out = []
    if alpha_ci(r)[0] >= DELTA:
        out.append("alpha")
    if check_beta:
        bound = S * S * r.eps / DELTA
        if r.valid_rounds < MIN_VALID:
            out.append("valid rounds")
        if beta_ci(r)[0] > bound:
            out.append("beta")
        if beta_valid_ci(r)[0] > bound:
            out.append("beta among valid rounds")
    return out


# hanging-junta plants a backdoor only when x* takes its chain of r tests (a valid round,
# probability 2^-r), and its junta cell of mass 2^-(r+h) <= eps needs r + 2^h <= s leaves:
# with s = 64, eps = 2^-17 forces r >= 12 (about 0 valid rounds in 600). r = 5, h = 5 at
# eps = 2^-10 fires in 1/32 of the rounds (about 47 of 1500), and its junta (depth 10 > t)
# is rejected on both sides: alpha is the junta's mass 2^-5 < delta. Its beta bound is 1
# there, as for every shape that fires often at s = 64 (the bound is below 1 only for
# eps < 2^-15.3, where r >= 11), and it has fewer than 100 valid rounds: the case checks
# alpha, and that the planted backdoors are caught.
@pytest.mark.parametrize("attacker,eps,rounds,check_beta", [("isolating-chain", 2.0 ** -17, 600, True),
                                                            ("isolating-chain", 2.0 ** -20, 600, True),
                                                            ("hanging-junta:r=5,h=5", 2.0 ** -10, 1500, False)])
def test_depth_defender_meets_its_bounds(attacker: str, eps: float, rounds: int, check_beta: bool) -> None:
    # the bound on beta is below 1 from eps < delta/s^2 = 2^-15.3 on (0.31 at 2^-17)
    r = Game(CLASS, attacker, DEFENDER, eps).play(rounds=rounds, seed=71)
    assert r.valid_rounds >= (MIN_VALID if check_beta else 30), r.valid_rounds
    assert r.guarantee == pytest.approx({"alpha": DELTA, "beta": min(1.0, S * S * eps / DELTA)})
    assert depth_violations(r, check_beta) == [], (r.alpha, r.beta, r.beta_valid)
    assert r.invalid_reasons.keys() <= {"no_backdoor"}
    if attacker.startswith("hanging-junta"):
        assert r.beta == 0.0  # the junta sits at depth 10 > t: every planted backdoor is rejected


@pytest.mark.parametrize("defender,violations", [("tree-depth:t=30", ["beta", "beta among valid rounds"]),
                                                 ("tree-depth:t=2", ["alpha"])])
def test_control_a_threshold_far_off_fails_the_bounds(defender: str, violations: list[str]) -> None:
    """On the isolating-chain cell at eps = 2^-17 (beta's bound 0.31): t = 30 misses every
    backdoor; t = 2 rejects every clean input whose leaf sits deeper than 2 variables,
    nearly all of them in a tree of 64 leaves."""
    r = Game(CLASS, "isolating-chain", defender, 2.0 ** -17).play(rounds=150, seed=71)
    assert r.valid_rounds == 150
    assert depth_violations(r, check_beta=True) == violations, (r.alpha, r.beta)


def transition_violations(above: GameResult, below: GameResult, every_valid_missed: bool = False) -> list[str]:
    """The transition near eps = delta/s, as the parts violated: at eps = 2^-10 (below)
    every valid backdoor is caught, on at least 20 valid rounds; at 2^-9 (above), on at
    least 50 valid rounds, the 99.9% interval of the miss rate among valid rounds
    reaches 1 - delta (all of them, with ``every_valid_missed``)."""
    out = []
    if below.valid_rounds < 20 or below.beta != 0.0:
        out.append(f"below: beta = {below.beta} on {below.valid_rounds} valid rounds")
    missed = round(above.beta * above.rounds)
    if above.valid_rounds < 50 or stats.wilson(missed, above.valid_rounds, LEVEL)[1] < 1 - DELTA:
        out.append(f"above: {missed} missed of {above.valid_rounds} valid rounds")
    elif every_valid_missed and missed != above.valid_rounds:
        out.append(f"above: {missed} missed of {above.valid_rounds} valid rounds, not all")
    return out


def play_transition(attacker: str, defender: str, rounds: int) -> tuple[GameResult, GameResult]:
    above = Game(CLASS, attacker, defender, 2.0 ** -9).play(rounds=rounds, seed=72)
    below = Game(CLASS, attacker, defender, 2.0 ** -10).play(rounds=rounds, seed=72)
    return above, below


@pytest.mark.parametrize("attacker,rounds", [("isolating-chain", 300), ("hanging-junta", 1500)])
def test_transition_near_eps_delta_over_s(attacker: str, rounds: int) -> None:
    # Just above delta/s = 2^-9.32 the flipped cell sits at depth 9 <= t, so a valid
    # backdoor is missed unless x* already sat deeper than t in f, which has probability
    # < s 2^-t = delta (hanging-junta: never, its x* sits at depth 9). Just below, at
    # depth >= 10 > t, every valid backdoor is rejected. (hanging-junta fires only when
    # x* takes its chain: 2^-4 of the rounds above, 2^-5 below.)
    above, below = play_transition(attacker, DEFENDER, rounds)
    assert transition_violations(above, below, every_valid_missed=attacker == "hanging-junta") == []


def test_control_without_a_depth_test_there_is_no_transition() -> None:
    """With t = 30 nothing is rejected: below delta/s the backdoors are missed as well."""
    above, below = play_transition("isolating-chain", "tree-depth:t=30", 300)
    violations = transition_violations(above, below)
    assert len(violations) == 1 and violations[0].startswith("below"), violations
