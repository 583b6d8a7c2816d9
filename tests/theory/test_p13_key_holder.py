"""P13: with trace access, the key-holder wins every round against every attacker in the
registry (alpha = beta = 0 exactly): the control for every hardness result, which is
about a defender without the attacker's trapdoor. A failure here has found a bug (in the
attacker's determinism, in the replay, or in the referee)."""

from __future__ import annotations

import pytest

from defendability import Game, play, registry
from defendability.errors import IncompatibleError, ParameterError

# Each attacker on a class it plays on, with an eps at which it produces valid backdoors
# (null never does: its rounds are won by the rules, and the key-holder must still not
# raise a false alarm on the clean side). An attacker added to the registry without an
# entry here fails test_every_attacker_is_covered. An optional fourth entry names the
# game mode (the planting attackers play perturbation), a fifth the number of rounds.
MATCHES = {
    "shatter": ("shatter", "subsets:N=32,d=8", 1 / 8),
    "mixture": ("mixture", "parities:n=10", 0.05),
    "point-flip": ("point-flip", "subsets:N=16,d=4", 0.1),
    "worst-case": ("worst-case:base=shatter,trials=4", "subsets:N=8,d=4", 1 / 4),
    "null": ("null", "subsets:N=32,d=8", 0.1),
    "junta-flip": ("junta-flip", "trees:n=12,s=16", 1 / 16),
    "hanging-junta": ("hanging-junta:r=1,h=3", "trees:n=12,s=16", 1 / 16),
    "isolating-chain": ("isolating-chain", "trees:n=20,s=32", 2**-8),
    "prf-flip": ("prf-flip", "prf-oracles:n=32", 1e-3),
    "signature": ("signature", "classifiers:data=digits,upsample=3", 0.01, "perturbation"),
    "rff-clwe": ("rff-clwe:features=100", "classifiers:data=gaussian,d=16,train=300,test=300", 0.2,
                 "perturbation", 50),
    "relu-sparse-pca": ("relu-sparse-pca:features=256,sparsity=32", "classifiers:data=gaussian,d=2048,train=200,test=200",
                        0.05, "perturbation", 80),
}


def test_every_attacker_is_covered():
    assert sorted(MATCHES) == sorted(registry.names("attackers"))


@pytest.mark.parametrize("attacker", sorted(MATCHES))
def test_key_holder_wins_every_round(attacker):
    spec, cls, eps, *rest = MATCHES[attacker]
    mode = rest[0] if rest else "random-trigger"
    rounds = rest[1] if len(rest) > 1 else 150
    r = play(cls, spec, "key-holder", eps=eps, rounds=rounds, seed=1313, trace=True, mode=mode)
    assert r.alpha == 0.0 and r.beta == 0.0 and r.win_rate == 1.0, (attacker, r.alpha, r.beta)
    if attacker != "null":
        assert r.valid_rounds >= 30, (attacker, r.valid_rounds, r.invalid_reasons)
    assert r.cost["evaluations_per_decision"] == 1.0 and r.cost["samples_per_decision"] == 0.0


@pytest.mark.parametrize("attacker", ["signature", "rff-clwe", "relu-sparse-pca"])
def test_trapdoor_check_wins_every_round(attacker):
    # the construction's own test (signature verified with the public key; the lattice
    # tests on weights and inputs), with the keys replayed from the tape
    spec, cls, eps, mode, *rest = MATCHES[attacker]
    rounds = rest[0] if rest else 150
    r = play(cls, spec, "key-holder:check=trapdoor", eps=eps, rounds=rounds, seed=1313, trace=True, mode=mode)
    assert r.alpha == 0.0 and r.beta == 0.0 and r.win_rate == 1.0, (attacker, r.alpha, r.beta)
    assert r.valid_rounds >= 30, (attacker, r.valid_rounds, r.invalid_reasons)
    # both tests read the keys and g's representation: no evaluation of g
    assert r.cost["evaluations_per_decision"] == 0.0 and r.cost["samples_per_decision"] == 0.0


def test_trapdoor_check_needs_an_attacker_with_a_trapdoor_test():
    spec, cls, eps = MATCHES["shatter"]
    with pytest.raises(IncompatibleError, match="shatter has none: use check=replay"):  # before any round
        Game(cls, spec, "key-holder:check=trapdoor", eps, trace=True)
    with pytest.raises(ParameterError, match="check must be one of replay, trapdoor"):
        registry.build("defenders", "key-holder:check=keys")
