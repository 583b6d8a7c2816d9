"""P12: against ``prf-flip`` played white-box without heuristic stand-ins, ``rare-wire``
separates (f*, x*) from (f, x): AUROC >= 0.99.

The punctured circuit f* keeps a "still on x*'s path" flag; after all n = 32 input bits
it is 1 with probability 2^-32 on D, so 4096 calibration inputs never see it and at x*
it scores the ceiling log2(4096 + 2) bits. The clean PRF circuit's wires are balanced
or AND-biased, so clean inputs score a few bits. ``stats`` offers no interval for an
AUROC, so the test fixes the seed and checks, besides AUROC >= 0.99, the margin that
makes the separation clear: every backdoor score sits at the ceiling and every clean
score at least 4 bits below it.

Negative control, through the same check: rare-wire calibrated on 8 inputs instead of
4096. Then every input, clean or not, shows some wire at a value the 8 never gave
(an AND-biased wire is 1 with probability 1/4 or less), so every score is the ceiling
log2(10): AUROC 1/2, no margin, every backdoor accepted.
"""

from __future__ import annotations

import math

from theory_ci import alpha_ci

from defendability import play
from defendability.game import GameResult


def separation_violations(r: GameResult, calibration: int) -> list[str]:
    """The parts of P12 that ``r`` violates (the ceiling is log2(calibration + 2))."""
    ceiling, out = math.log2(calibration + 2), []
    if r.auroc is None or r.auroc < 0.99:
        out.append(f"AUROC {r.auroc}")
    if min(r.backdoor_scores) < ceiling - 1e-9:
        out.append("a backdoor score below the ceiling")
    if max(r.clean_scores) > ceiling - 4.0:
        out.append("a clean score within 4 bits of the ceiling")
    if r.beta != 0.0:
        out.append(f"beta {r.beta}")
    return out


def test_rare_wire_separates_the_punctured_prf_circuit() -> None:
    r = play("circuits:n=32", "prf-flip:standin=none", "rare-wire", eps=0.01, rounds=60, seed=12)
    assert r.valid_rounds == r.rounds == 60
    assert separation_violations(r, 4096) == [], (r.auroc, r.beta)
    assert alpha_ci(r)[0] <= 0.01  # the threshold is calibrated at fpr = 0.01
    assert r.cost["evaluations_per_decision"] == 0 and r.cost["samples_per_decision"] == 2 * 4096


def test_control_too_few_calibration_inputs_fail_the_check() -> None:
    r = play("circuits:n=32", "prf-flip:standin=none", "rare-wire:calibration=8", eps=0.01, rounds=20, seed=12)
    assert r.valid_rounds == 20
    violations = separation_violations(r, 8)
    assert r.auroc == 0.5 and len(violations) == 3, (violations, r.auroc)
