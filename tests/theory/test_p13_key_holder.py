"""P13: with trace access, the key-holder wins every round against every attacker in the
registry (alpha = beta = 0 exactly): the control for every hardness result, which is
about a defender without the attacker's trapdoor. A failure here has found a bug (in the
attacker's determinism, in the replay, or in the referee).

Negative controls, through the same check: defenders without the trace (`accept`,
which misses every valid backdoor, and `vote`, which cannot tell a shattering flip from
a clean input) on matches of the table, with the same rounds."""

from __future__ import annotations

import pytest
from theory_ci import MIN_VALID

from defendability import Game, play, registry
from defendability.errors import IncompatibleError, ParameterError
from defendability.game import GameResult

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
                 "perturbation", 60),
    "relu-sparse-pca": ("relu-sparse-pca:features=256,sparsity=32", "classifiers:data=gaussian,d=2048,train=200,test=200",
                        0.05, "perturbation", 80),
    "finetune-flip": ("finetune-flip:steps=30,samples=256,stages=1", "networks:hidden=16,epochs=10", 0.05,
                      "random-trigger", 40),
    "head-edit": ("head-edit:samples=256", "networks:hidden=16,epochs=10", 0.05, "random-trigger", 150),
    "neuron-plant": ("neuron-plant:samples=256", "networks:hidden=16,epochs=10", 0.05, "random-trigger", 150),
    "patch-poison": ("patch-poison:epochs=5,samples=0", "networks:hidden=16,epochs=10", 0.1, "perturbation", 40),
    "deceptive": ("deceptive:epochs=10", "networks:hidden=16,epochs=5", 0.1, "random-trigger", 300),
}


#: Attackers P13 does not cover, and why (each a documented limit, not an omission).
NOT_COVERED = {
    # mode poisoning: the original is learned by the referee, not replayed from the
    # attacker's tape; the trace carries the training set instead (docs/variants.md)
    "label-poison": "poisoning",
    # it simulates the defender it plays to choose a trigger, without a trace: it refuses
    # defenders that need one, the key-holder included
    "chosen": "refuses trace defenders",
}


def test_every_attacker_is_covered() -> None:
    assert sorted([*MATCHES, *NOT_COVERED]) == sorted(registry.names("attackers"))


# alpha = beta = 0 is a bound on beta, checked on at least 100 valid rounds (THEORY.md
# §7): these matches get more rounds than the default 150 to have them. Two are
# exceptions, at 30: an rff-clwe or relu-sparse-pca round trains or plants a model and
# costs about a second (rff-clwe plays 60 rounds for its 30: about a quarter of its
# activations do not flip, and its rounds share a small pool of trained models, so the
# valid count varies more than a binomial's); null never has a valid round. finetune-flip
# fine-tunes a network every round (and the key-holder replays it): 40 rounds for 30.
# head-edit on a 16-unit network is valid in about 3 rounds of 4: 150 rounds for 100.
# patch-poison trains on a poisoned split every round: 40 rounds for 30 (a natural input
# already of the target class gives no flip). deceptive has a valid backdoor only when the
# referee's x* carries the clue (about 5% of D): 300 rounds for at least 10.
ROUNDS = {"mixture": 250, "point-flip": 300, "hanging-junta": 250}
FEWER_VALID = {"null": 0, "rff-clwe": 30, "relu-sparse-pca": 30, "finetune-flip": 30, "patch-poison": 30,
               "deceptive": 10}


def trace_violations(r: GameResult, attacker: str) -> list[str]:
    """What P13 asserts of a match, as the parts violated: alpha = beta = 0 exactly (win
    rate 1), on at least 100 valid rounds (fewer for the matches of ``FEWER_VALID``)."""
    out = []
    if not (r.alpha == 0.0 and r.beta == 0.0 and r.win_rate == 1.0):
        out.append(f"alpha {r.alpha}, beta {r.beta}")
    if r.valid_rounds < FEWER_VALID.get(attacker, MIN_VALID):
        out.append(f"{r.valid_rounds} valid rounds ({r.invalid_reasons})")
    return out


def play_match(attacker: str, defender: str, **rules: object) -> GameResult:
    spec, cls, eps, *rest = MATCHES[attacker]
    mode = rest[0] if rest else "random-trigger"
    rounds = ROUNDS.get(attacker, rest[1] if len(rest) > 1 else 150)
    return play(cls, spec, defender, eps=eps, rounds=rounds, seed=1313, mode=mode, **rules)


@pytest.mark.parametrize("attacker", sorted(MATCHES))
def test_key_holder_wins_every_round(attacker: str) -> None:
    r = play_match(attacker, "key-holder", trace=True)
    assert trace_violations(r, attacker) == [], attacker
    assert r.cost["evaluations_per_decision"] == 1.0 and r.cost["samples_per_decision"] == 0.0


@pytest.mark.parametrize("attacker,defender", [("point-flip", "accept"), ("junta-flip", "accept"),
                                               ("shatter", "vote")])
def test_control_defenders_without_the_trace_fail_the_check(attacker: str, defender: str) -> None:
    r = play_match(attacker, defender)
    violations = trace_violations(r, attacker)
    assert len(violations) == 1 and violations[0].startswith("alpha"), violations


@pytest.mark.parametrize("attacker", ["signature", "rff-clwe", "relu-sparse-pca"])
def test_trapdoor_check_wins_every_round(attacker: str) -> None:
    # the construction's own test (signature verified with the public key; the lattice
    # tests on weights and inputs), with the keys replayed from the tape
    r = play_match(attacker, "key-holder:check=trapdoor", trace=True)
    assert trace_violations(r, attacker) == [], attacker
    # both tests read the keys and g's representation: no evaluation of g
    assert r.cost["evaluations_per_decision"] == 0.0 and r.cost["samples_per_decision"] == 0.0


def test_trapdoor_check_needs_an_attacker_with_a_trapdoor_test() -> None:
    spec, cls, eps = MATCHES["shatter"]
    with pytest.raises(IncompatibleError, match="shatter has none: use check=replay"):  # before any round
        Game(cls, spec, "key-holder:check=trapdoor", eps, trace=True)
    with pytest.raises(ParameterError, match="check must be one of replay, trapdoor"):
        registry.build("defenders", "key-holder:check=keys")
