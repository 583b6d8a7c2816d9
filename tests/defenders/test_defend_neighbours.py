"""The Hamming-neighbours defender (THEORY.md §4.4)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

from defendability import play, stats
from defendability.circuits import CircuitBuilder
from defendability.classes.base import Counted, Function
from defendability.classes.circuits import CircuitFunction, Circuits
from defendability.classes.parities import Parities, ParityFunction
from defendability.defenders.neighbours import Neighbours
from defendability.errors import IncompatibleError, ParameterError
from defendability.registry import build
from defendability.spaces import Sampler, UniformCube

LEVEL = 0.999


class Calls(Function):
    """Forwards to ``f`` and keeps every batch it was called on."""

    def __init__(self, f):
        self.f, self.batches = f, []

    def __call__(self, x):
        self.batches.append(np.array(x, copy=True))
        return self.f(x)


def point_function(pattern: np.ndarray) -> CircuitFunction:
    """The circuit that is 1 exactly at ``pattern``: an AND chain of its n literals."""
    bld = CircuitBuilder(len(pattern))
    lits = [i if bit else bld.not_(i) for i, bit in enumerate(pattern.tolist())]
    out = lits[0]
    for w in lits[1:]:
        out = bld.and_(out, w)
    return CircuitFunction(bld.build([out]))


def _fit(cls, g, r=31, seed=0):
    sampler, counted = Sampler(cls.default_distribution(), np.random.default_rng(seed)), Counted(g)
    return Neighbours(r=r).fit(cls, counted, sampler, 0.1, np.random.default_rng(seed + 1)), sampler, counted


@pytest.mark.parametrize("spec", ["neighbours:r=0", "neighbours:r=2", "neighbours:r=-3"])
def test_r_must_be_odd_and_positive(spec):
    with pytest.raises(ParameterError, match="r must be"):
        build("defenders", spec)
    for r in (True, 1.5, 4):
        with pytest.raises(ParameterError, match="r must be"):
            Neighbours(r=r)
    assert repr(build("defenders", "neighbours")) == "neighbours" and repr(Neighbours(r=5)) == "neighbours:r=5"


@pytest.mark.parametrize("cls_spec", ["subsets:N=16,d=2", "intervals", "halfspaces:d=3"])
def test_refuses_classes_off_the_cube(cls_spec):
    cls = build("classes", cls_spec)
    g = cls.random_member(np.random.default_rng(0))
    with pytest.raises(IncompatibleError, match="neighbours: class"):
        _fit(cls, g)


def test_one_call_of_g_on_x_and_its_neighbours_and_the_exact_rule():
    cls, r, q = Parities(12), 7, 50
    rng = np.random.default_rng(3)
    f = ParityFunction(rng.integers(0, 2, 12, dtype=np.uint8))
    calls = Calls(f)
    detector, sampler, counted = _fit(cls, calls, r=r)
    assert sampler.drawn == 0 and counted.evaluations == 0 and calls.batches == []
    x = UniformCube(12).sample(rng, q)
    scores, decisions = detector.score_and_decide(x)
    assert len(calls.batches) == 1 and counted.evaluations == q * (r + 1)
    batch = calls.batches[0]
    np.testing.assert_array_equal(batch[:q], x)
    around = batch[q:].reshape(q, r, 12)
    np.testing.assert_array_equal(np.count_nonzero(around != x[:, None, :], axis=2), np.ones((q, r)))
    expected = np.mean(f(around.reshape(-1, 12)).reshape(q, r) != f(x)[:, None], axis=1)
    np.testing.assert_array_equal(scores, expected)
    np.testing.assert_array_equal(decisions, expected > 0.5)
    assert detector.score(np.zeros((0, 12), dtype=np.uint8)).shape == (0,)


def test_a_point_function_is_rejected_at_its_point_only():
    n, rng = 20, np.random.default_rng(4)
    cls, p = Circuits(n=n), rng.integers(0, 2, n, dtype=np.uint8)
    detector, _, _ = _fit(cls, point_function(p))
    assert detector.score(p[None])[0] == 1.0 and detector.decide(p[None])[0]  # every neighbour is 0, g(p) = 1
    x = UniformCube(n).sample(rng, 500)
    far = np.count_nonzero(x != p, axis=1) >= 2  # no neighbour of these is p
    assert far.sum() == 500
    np.testing.assert_array_equal(detector.score(x), np.zeros(500))


def test_a_constant_function_is_never_rejected_and_full_parity_always():
    n, rng = 16, np.random.default_rng(5)
    x = UniformCube(n).sample(rng, 300)
    zero, _, _ = _fit(Parities(n), ParityFunction(np.zeros(n, dtype=np.uint8)))
    assert not zero.decide(x).any() and not zero.score(x).any()
    full, _, _ = _fit(Parities(n), ParityFunction(np.ones(n, dtype=np.uint8)))
    np.testing.assert_array_equal(full.score(x), np.ones(300))  # every bit flip flips the parity


def test_parity_scores_and_rejects_at_the_binomial_rates():
    # A parity on w of n bits: each neighbour (a uniform coordinate) disagrees with
    # probability w/n, independently; REJECT iff more than r/2 of r do.
    n, w, r, q = 16, 7, 31, 4000
    a = np.zeros(n, dtype=np.uint8)
    a[:w] = 1
    detector, _, _ = _fit(Parities(n), ParityFunction(a), r=r, seed=7)
    scores, decisions = detector.score_and_decide(UniformCube(n).sample(np.random.default_rng(8), q))
    disagreements = round(float(scores.sum()) * r)
    low, high = stats.wilson(disagreements, q * r, LEVEL)
    assert low <= w / n <= high
    reject = float(st.binom.sf(r // 2, r, w / n))
    low, high = stats.wilson(int(decisions.sum()), q, LEVEL)
    assert low <= reject <= high


def test_plays_a_game_at_r_plus_one_evaluations_per_decision():
    r = play("circuits:n=16", "point-flip", "neighbours:r=15", eps=0.01, rounds=40, seed=0)
    assert r.rounds - r.void_rounds == 40
    assert r.cost["evaluations_per_decision"] == 16 and r.cost["samples_per_decision"] == 0
    assert r.auroc is not None
