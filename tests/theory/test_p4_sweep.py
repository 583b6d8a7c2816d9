"""P4: alpha + beta of the vote defender grows about linearly in eps*d, between the
mixture lower bound (d-1) eps and about 24 d eps, and reaches 1 once eps*d >= 1."""

from __future__ import annotations

from theory_ci import error_sum_ci
from defendability import play

D = 10
CLASS = f"subsets:N=64,d={D}"
DEFENDER = "vote:learner=closure,voters=151"


def test_error_grows_linearly_then_saturates():
    sums = []
    for ed in (0.001, 0.01, 0.03, 0.1, 0.3):
        eps = ed / D
        r = play(CLASS, "mixture", DEFENDER, eps=eps, rounds=800, seed=41)
        lo, hi = error_sum_ci(r)
        assert hi >= (D - 1) * eps  # the lower bound L2 holds
        assert lo <= 24 * D * eps  # the vote's derived upper bound holds
        sums.append(r.error_sum)
    # grows with eps*d: over the 30x range from 0.01 to 0.3 it grows at least 10x
    assert sums == sorted(sums) and sums[-1] >= 10 * sums[1]
    for ed in (1.0, 2.0):
        r = play(CLASS, "shatter", DEFENDER, eps=ed / D, rounds=400, seed=42)
        lo, hi = error_sum_ci(r)
        assert lo <= 1.0 <= hi
