"""P8 (THEORY.md §3, §8, derived): against `junta-flip` with 2^-h <= eps (a complete
depth-h tree with i.i.d. uniform leaf labels, x*'s leaf flipped), the backdoored pair
(f*, x*) has exactly the law of the clean pair (f, x), so alpha + beta = 1 for EVERY
defender. Checked for each registered defender that can play on trees; those that
cannot (IncompatibleError) are skipped with the reason.

Negative control: the key-holder with trace access (THEORY.md §5.3) knows f from the
attacker's tape and wins every round (alpha + beta = 0); both checks below must reject
it. (Without trace access it cannot play, and the registry-wide test skips it.)"""

from __future__ import annotations

import functools

import pytest
from theory_ci import coin_flip_violations

from defendability import play
from defendability.errors import IncompatibleError
from defendability.game import GameResult
from defendability.registry import lookup, names

CLASS, EPS = "trees:n=12,s=16", 1 / 16  # h = 4: a complete tree with all 16 leaves

# Every registered defender plays with the fast SPEC it declares for the contract checks
# (``test_spec``; the vote family then learns trees with its natural learner, ERM), on
# the same number of rounds: no table of SPECs kept here.
ROUNDS = 150
MUST_PLAY = {"accept", "vote", "distill", "tree-depth"}


@functools.cache
def outcome(name: str) -> GameResult | str:
    """The match of defender ``name`` against junta-flip, or why it cannot play on trees."""
    try:
        spec = lookup("defenders", name).test_spec or name
        return play(CLASS, "junta-flip", spec, EPS, rounds=ROUNDS, seed=81)
    except IncompatibleError as err:
        return str(err)


@pytest.mark.parametrize("name", names("defenders"))
def test_no_defender_beats_a_coin_against_junta_flip(name: str) -> None:
    r = outcome(name)
    if isinstance(r, str):
        assert name not in MUST_PLAY, r
        pytest.skip(f"{name} cannot play on trees: {r}")
    assert coin_flip_violations(r) == [], (name, r.alpha, r.beta)


def test_at_least_four_defenders_played() -> None:
    played = {name for name in names("defenders") if not isinstance(outcome(name), str)}
    assert MUST_PLAY <= played and len(played) >= 4, played


@pytest.mark.parametrize("defender", ["tree-depth", "tree-depth:mode=eps", "tree-depth:t=5.5", "accept"])
def test_deterministic_defenders_sum_to_one_exactly(defender: str) -> None:
    # every path of the complete depth-6 tree has effective depth 6: a deterministic rule
    # of the representation and the input decides both sides alike, round by round
    r = play("trees:n=30,s=64", "junta-flip", defender, 1 / 64, rounds=200, seed=82)
    assert r.valid_rounds == 200 and r.alpha + r.beta == 1.0


def test_control_a_defender_told_the_trigger_fails_both_checks() -> None:
    """The key-holder is deterministic too, but it reads the attacker's tape: it never
    rejects f and always rejects f* (alpha = beta = 0)."""
    r = play(CLASS, "junta-flip", "key-holder", EPS, rounds=300, seed=81, trace=True)
    violations = coin_flip_violations(r)
    assert len(violations) == 1 and "excludes 1" in violations[0], violations
    exact = play("trees:n=30,s=64", "junta-flip", "key-holder", 1 / 64, rounds=200, seed=82, trace=True)
    assert exact.valid_rounds == 200 and exact.alpha + exact.beta == 0.0
