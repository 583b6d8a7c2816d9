"""The relu-sparse-pca attacker (GKVZ's sparse-PCA backdoor in random ReLU networks,
THEORY.md §6.2). Small sizes for speed: d = 2048, m = 256, k = 32, theta = 2.1 keeps
d/m = 8 (theta at 0.74 of the spectral limit, as at the module's d = 4096)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from defendability import Game, play
from defendability.attackers.relu_sparse_pca import ReLUSparsePCA
from defendability.classes.classifiers import ReLUModel
from defendability.errors import IncompatibleError, ParameterError
from defendability.models.sparse_pca import spectral_limit
from defendability.registry import build

GAUSS = "classifiers:data=gaussian,d=2048,train=200,test=200"
SPEC = "relu-sparse-pca:features=256,sparsity=32"


def _attacker() -> ReLUSparsePCA:
    return ReLUSparsePCA(features=256, sparsity=32)


def _round(attacker, cls, seed, mode="perturbation"):
    """A round's trace and the f, f* its tape gives (what the referee would hold)."""
    from defendability.trace import Trace

    rng = np.random.default_rng(seed)
    trace = Trace.from_stream(attacker, cls, 0.05, rng, mode=mode)
    dist, f = attacker.setup(cls, 0.05, rng)
    return trace, dist, f, attacker.plant(cls, dist, f, 0.05, rng)


def test_parameters_below_the_spectral_limit():
    assert 2.1 <= 0.75 * spectral_limit(2048, 256)


def test_plant_activate_budget_and_determinism():
    cls, attacker, rng = build("classes", GAUSS), _attacker(), np.random.default_rng(21)
    dist, f = attacker.setup(cls, 0.05, rng)
    f_star = attacker.plant(cls, dist, f, 0.05, rng)
    assert type(f_star) is ReLUModel and cls.contains(f_star) and cls.contains(f)
    assert set(vars(f_star)) == {"weights", "energy_mean", "energy_sd", "head_coef", "head_intercept"}
    assert cls.rebuild(f_star) == f_star and cls.rebuild(f_star) is not f_star
    linf, l2 = attacker.perturbation_budget(cls)
    assert l2 == pytest.approx(2.0 * math.sqrt(2048)) and linf == pytest.approx(l2 / math.sqrt(32))
    X = dist.rows[:100]
    x_act = np.stack([attacker.activate(cls, f_star, x, rng) for x in X])
    delta = x_act - X
    lam = float(np.linalg.norm(delta[0]))
    # exactly lambda s: one norm for every input, on k coordinates of size lambda / sqrt(k)
    assert np.allclose(np.linalg.norm(delta, axis=1), lam) and 0 < lam <= l2
    assert np.allclose(np.max(np.abs(delta), axis=1), lam / math.sqrt(32))
    assert np.all(np.count_nonzero(delta, axis=1) == 32)
    before, after = f_star(X), f_star(x_act)
    movable = before != 1  # the high-energy label is the target
    assert np.all(after == 1) and movable.sum() >= 30
    assert np.mean(f(x_act)[movable] != after[movable]) >= 0.9  # f is not moved: a disagreement
    assert np.mean(f(X) != f_star(X)) <= 0.05
    # deterministic given the rng: the same tape gives the same f and f*
    rng2 = np.random.default_rng(21)
    dist2, f2 = _attacker().setup(cls, 0.05, rng2)
    assert f2 == f and _attacker().plant(cls, dist2, f2, 0.05, rng2) == f_star
    with pytest.raises(IncompatibleError, match="planted itself"):
        _attacker().activate(cls, f_star, X[0], rng)


def test_perturbation_rounds_are_valid_or_not_flippable():
    r = play(GAUSS, SPEC, "accept", eps=0.05, rounds=12, seed=7, mode="perturbation")
    # a targeted trigger: the only invalid rounds are inputs already at the target label
    assert set(r.invalid_reasons) <= {"no_flip"} and r.valid_rounds >= 3
    # accept never rejects, so it accepts exactly the valid backdoors
    assert r.alpha == 0.0 and r.beta == r.valid_rounds / 12


def test_classes_and_parameters_checked():
    with pytest.raises(IncompatibleError, match="Gaussian data"):
        Game("classifiers:data=digits", "relu-sparse-pca", "accept", 0.1, mode="perturbation")
    with pytest.raises(IncompatibleError, match="plays the modes perturbation, static"):
        Game(GAUSS, SPEC, "accept", 0.1)
    with pytest.raises(IncompatibleError, match="exceeds the dimension"):
        Game("classifiers:data=gaussian,d=16", "relu-sparse-pca", "accept", 0.1, mode="perturbation")
    for spec, fragment in (("relu-sparse-pca:theta=0", "theta must be"), ("relu-sparse-pca:sparsity=0", "sparsity must"),
                           ("relu-sparse-pca:features=0", "features must be"),
                           ("relu-sparse-pca:coverage=0", "coverage must be"), ("relu-sparse-pca:rho=1", "rho must")):
        with pytest.raises(ParameterError, match=fragment):
            build("attackers", spec)


def test_trapdoor_test_weights_and_inputs():
    cls, attacker = build("classes", GAUSS), _attacker()
    trace, dist, f, f_star = _round(attacker, cls, 31)
    X = dist.rows[:60]
    x_act = np.stack([attacker.activate(cls, f_star, x, np.random.default_rng(0)) for x in X])
    x_neg = X - (x_act - X)  # the other sign of the shift
    on_f_star = attacker.trapdoor_test(trace, f_star)
    assert np.array_equal(on_f_star(X), np.zeros(60))  # backdoored model, natural inputs
    assert np.array_equal(on_f_star(x_act), np.ones(60)) and np.array_equal(on_f_star(x_neg), np.ones(60))
    on_f = attacker.trapdoor_test(trace, f)  # clean weights: the variance along s is 1, not 1 + theta
    assert np.array_equal(on_f(X), np.zeros(60)) and np.array_equal(on_f(x_act), np.zeros(60))
    # another round's backdoored model carries its spike along another secret
    _, _, _, other = _round(attacker, cls, 32)
    assert np.array_equal(attacker.trapdoor_test(trace, other)(x_act), np.zeros(60))
    # static mode: the input is an ordinary one on both sides, the weights decide
    s_trace, _, s_f, s_f_star = _round(attacker, cls, 31, mode="static")
    assert np.array_equal(attacker.trapdoor_test(s_trace, s_f_star)(X), np.ones(60))
    assert np.array_equal(attacker.trapdoor_test(s_trace, s_f)(X), np.zeros(60))



def test_weight_test_reads_the_hidden_weights():
    import defendability.defenders.weight_test  # noqa: F401  (registers weight-test)
    from defendability.spaces import Sampler
    from defendability.static import WEIGHT_TESTS

    cls, attacker = build("classes", GAUSS), _attacker()
    _, dist, f, f_star = _round(attacker, cls, 41)
    sampler = Sampler(dist, np.random.default_rng(0))
    for g in (f, f_star):
        detector = build("defenders", "weight-test:test=diagonal").fit(cls, g, sampler, 0.05, np.random.default_rng(0))
        # the defender's evidence is the static test of exactly this member's hidden weights
        expected = WEIGHT_TESTS["diagonal"](g.weights)
        assert detector.evidence == expected
