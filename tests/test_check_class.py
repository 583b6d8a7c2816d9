"""Components that play on some classes only refuse the others when the match is set
up (``check_class``), before any round: a ``Game`` raises at construction and a sweep
config with such a cell fails when it is parsed."""

from __future__ import annotations

import pytest

from defendability import Game
from defendability.errors import IncompatibleError, ParameterError
from defendability.experiments.config import ConfigError, parse_config

TREES, CIRCUITS = "trees:n=12,s=16", "circuits:n=16"


@pytest.mark.parametrize("cls, attacker, defender, fragment", [
    ("parities:n=12", "junta-flip", "accept", "attacker 'junta-flip' builds decision trees"),
    ("subsets:N=16,d=4", "hanging-junta", "accept", "attacker 'hanging-junta' builds decision trees"),
    (CIRCUITS, "isolating-chain", "accept", "attacker 'isolating-chain' builds decision trees"),
    (TREES, "prf-flip", "accept", "prf-flip plays on"),
    ("circuits:n=6", "prf-flip", "accept", "n >= 8"),
    ("circuits:n=32,max_gates=1000", "prf-flip", "accept", "max_gates=1000"),
    (CIRCUITS, "point-flip", "tree-depth", "defender 'tree-depth' reads decision trees"),
    (TREES, "junta-flip", "rare-wire", "rare-wire needs white-box wire values"),
    ("prf-oracles:n=16", "prf-flip", "rare-wire", "PRFOracle"),
    ("halfspaces:d=3", "point-flip", "neighbours", "not rows of {0,1}^n"),
])
def test_a_game_on_a_class_a_component_cannot_play_fails_at_construction(cls, attacker, defender, fragment):
    with pytest.raises(IncompatibleError) as err:
        Game(cls, attacker, defender, 0.01)
    assert fragment in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("attacker, fragment", [
    ("junta-flip:h=5", "2^5 leaves, more than s=16"),
    ("hanging-junta:r=3,h=4", "r + 2^h leaves, more than s=16"),
    ("isolating-chain:leaves=17", "leaves=17 is more than"),
])
def test_sizes_known_without_eps_are_checked_at_construction(attacker, fragment):
    with pytest.raises(ParameterError) as err:
        Game(TREES, attacker, "accept", 0.01)
    assert fragment in str(err.value)


@pytest.mark.parametrize("cls, attacker, defender", [
    (TREES, "junta-flip:h=4", "tree-depth"), (TREES, "hanging-junta:r=2,h=3", "neighbours"),
    (TREES, "isolating-chain:leaves=16", "tree-depth"), (CIRCUITS, "prf-flip", "rare-wire"),
    ("threshold-networks:n=16", "prf-flip", "rare-wire"), ("prf-oracles:n=16", "prf-flip", "neighbours"),
])
def test_the_classes_they_play_on_are_accepted(cls, attacker, defender):
    Game(cls, attacker, defender, 0.01)


SWEEP = """
name = "t"
seed = 1
rounds = 10
class = "{cls}"
attacker = "junta-flip"
defender = "{defender}"
eps = 0.0625

[grid]
cls = ["trees:n=12,s=16", "parities:n=12"]
defender = ["accept", "tree-depth"]
"""


def test_a_sweep_with_an_impossible_cell_fails_when_parsed():
    with pytest.raises(ConfigError) as err:
        parse_config(SWEEP, "x.toml")
    message = str(err.value)
    # the first impossible cell in grid order: trees with tree-depth are fine, parities are not
    assert message.startswith("x.toml: cell (cls=parities:n=12, defender=accept): ") and "\n" not in message
    assert "attacker 'junta-flip' builds decision trees" in message
    fine = parse_config(SWEEP.replace(', "parities:n=12"]', "]"), "x.toml")
    assert [c.defender for c in fine.cells()] == ["accept", "tree-depth"]
