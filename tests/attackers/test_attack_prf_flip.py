"""The prf-flip attacker (THEORY.md §4.2, §5): every form it takes gives valid rounds
at n = 32, f and f* differ exactly at x*, and it is deterministic given its tape."""

from __future__ import annotations

import numpy as np
import pytest

from defendability.attackers.prf_flip import PRFFlip
from defendability.circuits.prf import (
    GoldreichGGM,
    prf_circuit,
    prf_gate_count,
    punctured_circuit,
    punctured_gate_count,
)
from defendability.classes.base import Counted
from defendability.classes.circuits import CircuitFunction, Circuits
from defendability.classes.prf_oracles import PRFOracle, PRFOracles, PuncturedPRFOracle
from defendability.errors import IncompatibleError, ParameterError, UserError
from defendability.game import Game
from defendability.registry import build
from defendability.spaces import UniformCube
from defendability.trace import Trace

EPS = 1e-3


def _round(attacker, cls, seed=0):
    rng = np.random.default_rng(seed)
    dist, f, key = attacker.setup(cls, EPS, rng)
    x_star = dist.sample(np.random.default_rng(seed + 1000), 1)[0]
    return dist, f, x_star, attacker.backdoor(cls, dist, f, x_star, EPS, rng, state=key)


def _near_and_far(x_star, rng, far=2000):
    n = len(x_star)
    near = np.repeat(x_star[None], n, axis=0)
    near[np.arange(n), np.arange(n)] ^= 1
    return np.concatenate([near, rng.integers(0, 2, size=(far, n), dtype=np.uint8)])


def _check_flip_only_at_the_trigger(f, f_star, x_star):
    assert f_star(x_star[None])[0] == 1 - f(x_star[None])[0]
    x = _near_and_far(x_star, np.random.default_rng(7))
    np.testing.assert_array_equal(f_star(x), f(x))


def test_oracle_mode_in_the_game():
    cls = PRFOracles(n=32)
    game = Game(cls, "prf-flip", "accept", EPS)
    rounds = game.play_rounds(0, range(4))
    for r in rounds:
        assert r.status == "valid"
        assert r.distance.exact and r.distance.value == 2.0 ** -32
    dist, f, x_star, f_star = _round(PRFFlip(), cls)
    assert isinstance(dist, UniformCube) and dist.n == 32
    assert type(f) is PRFOracle and type(f_star) is PuncturedPRFOracle
    assert cls.contains(f) and cls.contains(f_star) and f.prg == "aes"
    np.testing.assert_array_equal(f_star._key.point(), x_star)
    _check_flip_only_at_the_trigger(f, f_star, x_star)


@pytest.mark.parametrize("prg", ["aes-mmo", "sha256"])
def test_oracle_mode_uses_the_chosen_prg(prg):
    cls = PRFOracles(n=32)
    _, f, _, f_star = _round(PRFFlip(prg=prg), cls)
    assert f.prg == f_star.prg == prg
    assert cls.exact_distance(f, f_star, UniformCube(32)) == 2.0 ** -32


def test_oracle_members_never_show_the_key():
    cls = PRFOracles(n=32)
    _, f, x_star, f_star = _round(PRFFlip(), cls)
    secrets = [f._prf.key.hex(), repr(f._prf.key)] + [s.tobytes().hex() for s in f_star._key.seeds]
    for member in (f, f_star, Counted(f), Counted(f_star)):
        for text in (repr(member), str(member), repr(member.key())):
            assert not any(s in text for s in secrets)
            assert "".join(map(str, x_star.tolist())) not in text


def test_circuit_mode_in_the_game():
    cls = Circuits(n=32)
    rounds = Game(cls, "prf-flip", "accept", EPS).play_rounds(0, range(2))
    for r in rounds:
        # n = 32: the referee estimates the distance, and the estimate certifies <= eps
        assert r.status == "valid" and not r.distance.exact
        assert r.distance.value == 0.0 and r.distance.upper <= EPS
    attacker = PRFFlip()
    _, f, x_star, f_star = _round(attacker, cls)
    assert type(f) is CircuitFunction and type(f_star) is CircuitFunction
    assert f.circuit.n_gates == prf_gate_count(32, 64) and f_star.circuit.n_gates == punctured_gate_count(32, 64)
    _check_flip_only_at_the_trigger(f, f_star, x_star)
    # the netlists are the documented constructions, with the key drawn from the rng
    key = attacker.setup(cls, EPS, np.random.default_rng(0))[2]  # the key of _round(seed=0)
    assert isinstance(key, GoldreichGGM) and key.lam == 64
    assert f.circuit.key() == prf_circuit(key).key()
    assert f_star.circuit.key() == punctured_circuit(key, x_star).key()


def test_circuit_mode_lam():
    _, f, x_star, f_star = _round(PRFFlip(lam=16), Circuits(n=12))
    assert f.circuit.n_gates == prf_gate_count(12, 16)
    _check_flip_only_at_the_trigger(f, f_star, x_star)


@pytest.mark.parametrize("standin", ["rerandomise", "pad", "mask"])
def test_circuit_mode_with_a_standin(standin):
    cls = Circuits(n=32, max_gates=200_000)  # masking multiplies the gates about sevenfold
    attacker = PRFFlip(standin=standin)
    for r in Game(cls, attacker, "accept", EPS).play_rounds(0, range(2)):
        assert r.status == "valid" and r.distance.upper <= EPS
    _, f, x_star, f_star = _round(attacker, cls)
    key = attacker.setup(cls, EPS, np.random.default_rng(0))[2]  # the key of _round(seed=0)
    _check_flip_only_at_the_trigger(f, f_star, x_star)
    assert f.circuit.key() != prf_circuit(key).key()  # the stand-in changed the netlist
    if standin == "pad":
        assert f.circuit.n_gates == f_star.circuit.n_gates >= attacker.padded_size(32)


def test_threshold_mode_in_the_game():
    cls = build("classes", "threshold-networks:n=32")
    rounds = Game(cls, "prf-flip", "accept", EPS, distance_samples=5000).play_rounds(0, range(1))
    assert rounds[0].status == "valid" and rounds[0].distance.upper <= EPS
    _, f, x_star, f_star = _round(PRFFlip(), cls)
    assert cls.contains(f) and cls.contains(f_star)
    _check_flip_only_at_the_trigger(f, f_star, x_star)


def test_deterministic_given_the_tape_and_replayable():
    cls = PRFOracles(n=32)
    a, b = _round(PRFFlip(), cls, seed=3), _round(PRFFlip(), cls, seed=3)
    assert a[1] == b[1] and a[3] == b[3]
    assert _round(PRFFlip(), cls, seed=4)[1] != a[1]
    # the referee's replay from the round's attacker stream rebuilds f and f*
    attacker = PRFFlip()
    game = Game(Circuits(n=16), attacker, "accept", 0.01)
    rng = np.random.default_rng(np.random.SeedSequence(11, spawn_key=(2, 0)))
    x_star = np.ones(16, np.uint8)
    trace = Trace.from_stream(attacker, game.cls, 0.01, rng, x_star)
    dist, f, key = attacker.setup(game.cls, 0.01, rng)
    f_star = attacker.backdoor(game.cls, dist, f, x_star, 0.01, rng, state=key)
    assert trace.replay_setup()[1] == f
    assert trace.replay_backdoor() == f_star


def test_no_backdoor_when_one_point_exceeds_the_budget():
    cls = PRFOracles(n=10)  # 2^-10 > 1e-4
    attacker = PRFFlip()
    dist, f, key = attacker.setup(cls, 1e-4, np.random.default_rng(0))
    assert attacker.backdoor(cls, dist, f, np.zeros(10, np.uint8), 1e-4, np.random.default_rng(0), state=key) is None
    r = Game(cls, attacker, "accept", 1e-4).play_round(0, 0)
    assert r.status == "no_backdoor"
    r = Game(cls, attacker, "accept", 2.0 ** -10).play_round(0, 0)
    assert r.status == "valid" and r.distance.value == 2.0 ** -10


def test_refuses_other_classes_and_small_circuits():
    attacker = PRFFlip()
    rng = np.random.default_rng(0)
    with pytest.raises(IncompatibleError, match="prf-flip plays on"):
        attacker.setup(build("classes", "parities:n=32"), EPS, rng)
    with pytest.raises(IncompatibleError, match="n >= 8"):
        attacker.setup(Circuits(n=6), EPS, rng)
    with pytest.raises(IncompatibleError, match="max_gates=1000"):
        attacker.setup(Circuits(n=32, max_gates=1000), EPS, rng)
    # the same refusals before any round, with no randomness
    for cls, message in ((build("classes", "parities:n=32"), "prf-flip plays on"), (Circuits(n=6), "n >= 8"),
                         (Circuits(n=32, max_gates=1000), "max_gates=1000")):
        with pytest.raises(IncompatibleError, match=message):
            attacker.check_class(cls)
    attacker.check_class(PRFOracles(n=6))  # oracles of any n
    attacker.check_class(Circuits(n=32, max_gates=50_000))  # the stand-ins' sizes are known in setup only


def test_refuses_a_standin_the_class_cannot_hold():
    with pytest.raises(IncompatibleError, match="after the stand-in 'mask'.*max_gates=50000"):
        PRFFlip(standin="mask").setup(Circuits(n=32, max_gates=50_000), EPS, np.random.default_rng(0))


def test_backdoor_needs_the_key_its_setup_returned():
    """The key is the round's state: setup returns it, the referee hands it back to
    backdoor (never to the defender); without it there is no backdoor to make."""
    cls = PRFOracles(n=16)
    attacker = PRFFlip()
    dist, f, key = attacker.setup(cls, EPS, np.random.default_rng(0))
    with pytest.raises(UserError, match="needs the key its setup"):
        attacker.backdoor(cls, dist, f, np.zeros(16, np.uint8), EPS, np.random.default_rng(0))
    f_star = attacker.backdoor(cls, dist, f, np.zeros(16, np.uint8), EPS, np.random.default_rng(0), state=key)
    assert cls.exact_distance(f, f_star, dist) == 2.0 ** -16
    assert not hasattr(attacker, "_secrets")  # no cache of keys by the function's identity


def test_spec_parameters_and_repr():
    a = build("attackers", "prf-flip:standin=pad,lam=32,prg=sha256")
    assert (a.standin, a.lam, a.prg) == ("pad", 32, "sha256")
    assert repr(a) == "prf-flip:standin=pad,lam=32,prg=sha256"
    for kwargs, fragment in [({"standin": "iO"}, "standin"), ({"lam": 8}, "lam"), ({"lam": 64.0}, "lam"),
                             ({"prg": "md5"}, "prg")]:
        with pytest.raises(ParameterError, match=fragment):
            PRFFlip(**kwargs)
    assert PRFFlip().lower_bound(PRFOracles(n=32), EPS) is None
