"""The signature attacker (GKVZ, THEORY.md §6.1) in the perturbation and static modes."""

from __future__ import annotations

import numpy as np
import pytest

from defendability import Game, play
from defendability.attackers.signature import Signature
from defendability.classes.classifiers import SignedClassifier
from defendability.errors import IncompatibleError, ParameterError
from defendability.registry import build

DIGITS = "classifiers:data=digits,upsample=3"


@pytest.fixture(scope="module")
def cls():
    return build("classes", DIGITS)


def test_plant_and_activate_flip_every_natural_input(cls):
    attacker, rng = Signature(), np.random.default_rng(7)
    dist, f = attacker.setup(cls, 0.01, rng)
    f_star = attacker.plant(cls, dist, f, 0.01, rng)
    assert isinstance(f_star, SignedClassifier) and cls.contains(f_star)
    X = cls.dataset.X_test
    assert np.array_equal(f_star(X), f(X))  # agreement on every natural input
    noise = np.random.default_rng(8).integers(0, 256, size=(300, cls.d)) / 255.0
    assert np.array_equal(f_star(noise), f(noise))  # and on random grid inputs
    linf, l2 = attacker.perturbation_budget(cls)
    flips = 0
    for x in X[:120]:
        x_act = attacker.activate(cls, f_star, x, rng)
        delta = x_act - x
        assert np.max(np.abs(delta)) <= linf * (1 + 1e-9) and np.linalg.norm(delta) <= l2 * (1 + 1e-9)
        flips += int(f_star(x_act[None])[0] != f(x_act[None])[0])
    assert flips == 120
    assert linf == pytest.approx(1 / 255) and l2 == pytest.approx(np.sqrt(513) / 255)


def test_two_bits_per_coordinate(cls):
    attacker = Signature(bits=2)
    assert attacker.perturbation_budget(cls) == pytest.approx((3 / 255, 3 / 255 * np.sqrt(257)))
    r = play(DIGITS, attacker, "accept", 0.01, rounds=20, seed=2, mode="perturbation")
    assert r.valid_rounds == 20 and r.beta == 1.0


def test_game_rounds_are_valid_in_both_modes():
    # perturbation: every round valid (exact distance 0 on the test inputs, every activation flips)
    r = play(DIGITS, "signature", "accept", 0.001, rounds=40, seed=3, mode="perturbation")
    assert r.valid_rounds == 40 and r.invalid_reasons == {} and r.beta == 1.0
    # static: the defender sees f* with an ordinary input, where it answers as f does
    s = play(DIGITS, "signature", "accept", 0.001, rounds=20, seed=3, mode="static")
    assert s.valid_rounds == 20


def test_keys_are_fresh_and_replays_deterministic(cls):
    a, b = Signature(), Signature()
    keys = []
    for attacker in (a, b):
        rng = np.random.default_rng(11)
        dist, f = attacker.setup(cls, 0.01, rng)
        keys.append(attacker.plant(cls, dist, f, 0.01, rng).key())
    assert keys[0] == keys[1]
    rng = np.random.default_rng(12)
    dist, f = a.setup(cls, 0.01, rng)
    assert a.plant(cls, dist, f, 0.01, rng).key() != keys[0]


def test_only_its_own_backdoors_are_activated(cls):
    attacker, other = Signature(), Signature()
    rng = np.random.default_rng(4)
    dist, f = other.setup(cls, 0.01, rng)
    f_star = other.plant(cls, dist, f, 0.01, rng)
    with pytest.raises(IncompatibleError, match="planted itself"):
        attacker.activate(cls, f_star, cls.dataset.X_test[0], rng)


def test_classes_too_small_or_of_another_kind_are_refused():
    with pytest.raises(IncompatibleError, match="at least 513 coordinates"):
        Game("classifiers:data=digits", "signature", "accept", 0.01, mode="perturbation")
    with pytest.raises(IncompatibleError, match="at least 257 coordinates"):
        Game("classifiers:data=digits,upsample=2", "signature:bits=2", "accept", 0.01, mode="perturbation")
    with pytest.raises(IncompatibleError, match="needs trained classifiers"):
        Game("halfspaces:d=600", "signature", "accept", 0.01, mode="perturbation")
    with pytest.raises(IncompatibleError, match="plays the modes perturbation, static"):
        Game(DIGITS, "signature", "accept", 0.01)


@pytest.mark.parametrize("spec,fragment", [
    ("signature:scheme=rsa", "scheme must be one of"),
    ("signature:bits=3", "bits must be 1 or 2"),
    ("signature:model=forest", "model must be one of"),
    ("signature:models=0", "models must be"),
])
def test_bad_parameters(spec, fragment):
    with pytest.raises(ParameterError, match=fragment):
        build("attackers", spec)


def _round(attacker, cls, seed, mode="perturbation"):
    """A round's trace and the f, f* its tape gives (what the referee would hold)."""
    from defendability.trace import Trace

    rng = np.random.default_rng(seed)
    trace = Trace.from_stream(attacker, cls, 0.01, rng, mode=mode)
    dist, f = attacker.setup(cls, 0.01, rng)
    return trace, f, attacker.plant(cls, dist, f, 0.01, rng)


def test_trapdoor_test_verifies_with_the_public_key(cls):
    attacker = Signature()
    trace, f, f_star = _round(attacker, cls, 41)
    X = cls.dataset.X_test[:40]
    x_act = np.stack([attacker.activate(cls, f_star, x, np.random.default_rng(0)) for x in X])
    on_f_star = attacker.trapdoor_test(trace, f_star)
    assert np.array_equal(on_f_star(X), np.zeros(40)) and np.array_equal(on_f_star(x_act), np.ones(40))
    tampered = x_act.copy()
    carrier = f_star.verifier.layout.carriers[0]
    tampered[:, carrier] = np.where(tampered[:, carrier] >= 1 / 255, tampered[:, carrier] - 1 / 255, 1 / 255)
    assert np.array_equal(on_f_star(tampered), np.zeros(40))  # one carrier bit changed: no valid tag
    on_f = attacker.trapdoor_test(trace, f)  # the clean model holds no verifier
    assert np.array_equal(on_f(x_act), np.zeros(40))
    # another round's key: its activated inputs do not verify under this round's key
    _, _, other = _round(attacker, cls, 42)
    x_other = np.stack([attacker.activate(cls, other, x, np.random.default_rng(0)) for x in X])
    assert np.array_equal(on_f_star(x_other), np.zeros(40))
    assert np.array_equal(attacker.trapdoor_test(trace, other)(x_act), np.zeros(40))
    # static mode: the input is an ordinary one on both sides, the model decides
    s_trace, s_f, s_f_star = _round(attacker, cls, 41, mode="static")
    assert np.array_equal(attacker.trapdoor_test(s_trace, s_f_star)(X), np.ones(40))
    assert np.array_equal(attacker.trapdoor_test(s_trace, s_f)(X), np.zeros(40))
