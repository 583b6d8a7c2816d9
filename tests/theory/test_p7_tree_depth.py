"""P7 (THEORY.md §3, §8, derived constants): on trees with at most s leaves over
{0,1}^30 under the uniform distribution, the white-box `tree-depth` defender with
t = log2(s/delta) keeps alpha < delta and beta <= s^2 eps / delta against every
attacker, here `isolating-chain` and `hanging-junta`; empirically the transition
(the attacks go undetected above, are caught below) sits near eps ~ delta/s."""

from __future__ import annotations

import math

import pytest
from theory_ci import LEVEL, alpha_ci, beta_ci

from defendability import Game, stats

S, DELTA = 64, 0.1
CLASS, DEFENDER = f"trees:n=30,s={S}", f"tree-depth:delta={DELTA}"
T = math.log2(S / DELTA)  # 9.32: the transition sits between eps = 2^-9 and 2^-10


# hanging-junta plants a backdoor only when x* takes its chain of r tests (a valid round,
# probability 2^-r), and its junta cell of mass 2^-(r+h) <= eps needs r + 2^h <= s leaves:
# with s = 64, eps = 2^-17 forces r >= 12 (about 0 valid rounds in 600). r = 5, h = 5 at
# eps = 2^-10 fires in 1/32 of the rounds, and its junta (depth 10 > t) is rejected on
# both sides: alpha is the junta's mass 2^-5 < delta. Its beta bound is 1 there, as for
# every shape that fires often at s = 64 (the bound is below 1 only for eps < 2^-15.3,
# where r >= 11): the case checks alpha, and that the planted backdoors are caught.
@pytest.mark.parametrize("attacker,eps,rounds", [("isolating-chain", 2.0 ** -17, 600),
                                                 ("isolating-chain", 2.0 ** -20, 600),
                                                 ("hanging-junta:r=5,h=5", 2.0 ** -10, 1500)])
def test_depth_defender_meets_its_bounds(attacker, eps, rounds):
    # the bound on beta is below 1 from eps < delta/s^2 = 2^-15.3 on (0.31 at 2^-17)
    r = Game(CLASS, attacker, DEFENDER, eps).play(rounds=rounds, seed=71)
    assert r.valid_rounds >= 30  # backdoors were planted: the bounds are tested on them
    assert r.guarantee == pytest.approx({"alpha": DELTA, "beta": min(1.0, S * S * eps / DELTA)})
    assert alpha_ci(r)[0] < DELTA
    assert beta_ci(r)[0] <= S * S * eps / DELTA
    assert r.invalid_reasons.keys() <= {"no_backdoor"}
    if attacker.startswith("hanging-junta"):
        assert r.beta == 0.0  # the junta sits at depth 10 > t: every planted backdoor is rejected


@pytest.mark.parametrize("attacker,rounds", [("isolating-chain", 300), ("hanging-junta", 1500)])
def test_transition_near_eps_delta_over_s(attacker, rounds):
    # Just above delta/s = 2^-9.32 the flipped cell sits at depth 9 <= t, so a valid
    # backdoor is missed unless x* already sat deeper than t in f, which has probability
    # < s 2^-t = delta (hanging-junta: never, its x* sits at depth 9). Just below, at
    # depth >= 10 > t, every valid backdoor is rejected. (hanging-junta fires only when
    # x* takes its chain: 2^-4 of the rounds above, 2^-5 below.)
    above = Game(CLASS, attacker, DEFENDER, 2.0 ** -9).play(rounds=rounds, seed=72)
    below = Game(CLASS, attacker, DEFENDER, 2.0 ** -10).play(rounds=rounds, seed=72)
    assert below.beta == 0.0 and below.valid_rounds >= 20
    missed = round(above.beta * above.rounds)
    assert above.valid_rounds >= 50
    if attacker == "hanging-junta":
        assert missed == above.valid_rounds
    assert stats.wilson(missed, above.valid_rounds, LEVEL)[1] >= 1 - DELTA
