"""P12: against ``prf-flip`` played white-box without heuristic stand-ins, ``rare-wire``
separates (f*, x*) from (f, x): AUROC >= 0.99.

The punctured circuit f* keeps a "still on x*'s path" flag; after all n = 32 input bits
it is 1 with probability 2^-32 on D, so 4096 calibration inputs never see it and at x*
it scores the ceiling log2(4096 + 2) bits. The clean PRF circuit's wires are balanced
or AND-biased, so clean inputs score a few bits. ``stats`` offers no interval for an
AUROC, so the test fixes the seed and checks, besides AUROC >= 0.99, the margin that
makes the separation clear: every backdoor score sits at the ceiling and every clean
score at least 4 bits below it.
"""

from __future__ import annotations

import math

from theory_ci import alpha_ci

from defendability import play


def test_rare_wire_separates_the_punctured_prf_circuit():
    r = play("circuits:n=32", "prf-flip:standin=none", "rare-wire", eps=0.01, rounds=60, seed=12)
    assert r.valid_rounds == r.rounds == 60
    ceiling = math.log2(4096 + 2)
    assert min(r.backdoor_scores) >= ceiling - 1e-9
    assert max(r.clean_scores) <= ceiling - 4.0
    assert r.auroc is not None and r.auroc >= 0.99
    assert r.beta == 0.0
    assert alpha_ci(r)[0] <= 0.01  # the threshold is calibrated at fpr = 0.01
    assert r.cost["evaluations_per_decision"] == 0 and r.cost["samples_per_decision"] == 2 * 4096
