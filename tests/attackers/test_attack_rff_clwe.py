"""The rff-clwe attacker (GKVZ's CLWE backdoor in random Fourier features, THEORY.md §6.2)."""

from __future__ import annotations

import numpy as np
import pytest

from defendability import Game
from defendability.attackers.rff_clwe import RFFCLWE
from defendability.classes.classifiers import RFFModel
from defendability.errors import IncompatibleError, ParameterError
from defendability.registry import build

GAUSS = "classifiers:data=gaussian,d=16,train=400,test=400"


def test_plant_activate_and_budget():
    cls, attacker, rng = build("classes", GAUSS), RFFCLWE(features=200), np.random.default_rng(21)
    dist, f = attacker.setup(cls, 0.1, rng)
    f_star = attacker.plant(cls, dist, f, 0.1, rng)
    assert type(f_star) is RFFModel and cls.contains(f_star) and cls.contains(f)
    assert set(vars(f_star)) == {"weights", "offsets", "coef", "scale"}  # no key in the member
    linf, l2 = attacker.perturbation_budget(cls)
    assert l2 == pytest.approx(2 * 4 / 0.02) and linf == l2
    X = cls.dataset.X_test[:100]
    x_act = np.stack([attacker.activate(cls, f_star, x, rng) for x in X])
    assert np.allclose(np.linalg.norm(x_act - X, axis=1), l2)  # exactly the declared l2 norm
    assert np.mean(f_star(x_act) != f_star(X)) >= 0.9  # the phase shift flips f*
    assert np.mean(f_star(x_act) != f(x_act)) >= 0.6  # and the referee's flip, f* against f, mostly holds
    # deterministic given the rng: the same tape gives the same f and f*
    rng2 = np.random.default_rng(21)
    dist2, f2 = RFFCLWE(features=200).setup(cls, 0.1, rng2)
    assert f2 == f and RFFCLWE(features=200).plant(cls, dist2, f2, 0.1, rng2) == f_star
    with pytest.raises(IncompatibleError, match="planted itself"):
        RFFCLWE(features=200).activate(cls, f_star, X[0], rng)


def test_classes_and_parameters_checked():
    with pytest.raises(IncompatibleError, match="Gaussian data"):
        Game("classifiers:data=digits", "rff-clwe", "accept", 0.1, mode="perturbation")
    with pytest.raises(IncompatibleError, match="plays the modes perturbation, static"):
        Game(GAUSS, "rff-clwe", "accept", 0.1)
    for spec, fragment in (("rff-clwe:beta=-1", "beta must be"), ("rff-clwe:features=0", "features must be"),
                           ("rff-clwe:scale=0", "scale must be"), ("rff-clwe:ridge=-2", "ridge must be")):
        with pytest.raises(ParameterError, match=fragment):
            build("attackers", spec)


def _round(attacker, cls, seed, mode="perturbation"):
    """A round's trace and the f, f* its tape gives (what the referee would hold)."""
    from defendability.trace import Trace

    rng = np.random.default_rng(seed)
    trace = Trace.from_stream(attacker, cls, 0.1, rng, mode=mode)
    dist, f = attacker.setup(cls, 0.1, rng)
    return trace, f, attacker.plant(cls, dist, f, 0.1, rng)


def test_trapdoor_test_weights_and_inputs():
    cls, attacker = build("classes", GAUSS), RFFCLWE(features=100)
    trace, f, f_star = _round(attacker, cls, 31)
    X = cls.dataset.X_test[:60]
    x_act = np.stack([attacker.activate(cls, f_star, x, np.random.default_rng(0)) for x in X])
    x_neg = X - (x_act - X)  # the other sign of the shift: the same phase shift of pi
    on_f_star = attacker.trapdoor_test(trace, f_star)
    assert np.array_equal(on_f_star(X), np.zeros(60))  # backdoored model, natural inputs
    assert np.array_equal(on_f_star(x_act), np.ones(60)) and np.array_equal(on_f_star(x_neg), np.ones(60))
    on_f = attacker.trapdoor_test(trace, f)  # clean weights: the model test says no
    assert np.array_equal(on_f(X), np.zeros(60)) and np.array_equal(on_f(x_act), np.zeros(60))
    # another round's backdoored model carries another secret's comb, not this key's
    _, _, other = _round(attacker, cls, 32)
    assert np.array_equal(attacker.trapdoor_test(trace, other)(x_act), np.zeros(60))
    # static mode: the input is an ordinary one on both sides, the weights decide
    s_trace, s_f, s_f_star = _round(attacker, cls, 31, mode="static")
    assert np.array_equal(attacker.trapdoor_test(s_trace, s_f_star)(X), np.ones(60))
    assert np.array_equal(attacker.trapdoor_test(s_trace, s_f)(X), np.zeros(60))
