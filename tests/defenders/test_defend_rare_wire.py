"""The rare-wire defender (THEORY.md §4.4, §5.3)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st
from toys_for_defenders import Recording

from defendability import play, stats
from defendability.circuits import CircuitBuilder
from defendability.classes.base import Counted, Function
from defendability.classes.circuits import CircuitFunction, Circuits
from defendability.classes.parities import Parities, ParityFunction
from defendability.defenders import rare_wire
from defendability.defenders.rare_wire import RareWire
from defendability.errors import IncompatibleError, ParameterError
from defendability.registry import build
from defendability.spaces import UniformCube

LEVEL = 0.999


class Opaque(Function):
    """A circuit seen only through ``wire_values`` (no ``circuit`` attribute)."""

    def __init__(self, circuit):
        self.netlist = circuit

    def __call__(self, x):
        return self.netlist.evaluate(x)[:, 0]

    def wire_values(self, x):
        return self.netlist.wire_values(x)


def scrambled(n: int, rng: np.random.Generator, pattern: np.ndarray | None = None,
              positions: np.ndarray | None = None) -> CircuitFunction:
    """A random-looking circuit: Goldreich's predicate x_a ^ x_b ^ x_c ^ (x_d & x_e) on a
    random hypergraph, two layers, the output the XOR of the second layer. With
    ``pattern``: the same circuit XOR an AND chain that is 1 iff x[positions] == pattern
    (the chain follows the clean gates, so the clean wires keep their numbers)."""
    bld = CircuitBuilder(n)
    layer = list(range(n))
    for _ in range(2):
        nxt = []
        for _ in range(n):
            a, b, c, d, e = (layer[i] for i in rng.choice(len(layer), 5, replace=False))
            nxt.append(bld.xor(bld.xor(bld.xor(a, b), c), bld.and_(d, e)))
        layer = nxt
    out = layer[0]
    for w in layer[1:]:
        out = bld.xor(out, w)
    if pattern is not None:
        lits = [int(i) if bit else bld.not_(int(i)) for i, bit in zip(positions, pattern)]
        hit = lits[0]
        for w in lits[1:]:
            hit = bld.and_(hit, w)
        out = bld.xor(out, hit)
    return CircuitFunction(bld.build([out]))


def planted(n: int, k: int, seed: int) -> tuple[CircuitFunction, CircuitFunction, np.ndarray]:
    """(clean, planted, p): the planted circuit differs from the clean one exactly at the
    inputs that agree with p on k random positions; p is uniform on {0,1}^n."""
    rng = np.random.default_rng(seed)
    p = rng.integers(0, 2, n, dtype=np.uint8)
    positions = rng.choice(n, k, replace=False)
    hypergraph_seed = int(rng.integers(2**32))
    clean = scrambled(n, np.random.default_rng(hypergraph_seed))
    return clean, scrambled(n, np.random.default_rng(hypergraph_seed), p[positions], positions), p


def _fit(g, n, defender=None, seed=0):
    sampler, counted = Recording(UniformCube(n), np.random.default_rng(seed)), Counted(g)
    detector = (defender or RareWire()).fit(Circuits(n=n), counted, sampler, 0.1, np.random.default_rng(seed + 1))
    return detector, sampler, counted


def _brute_scores(circuit, calibration, x):
    """max over wires of -log2 P(wire = value), P(wire = 1) = (ones + 1) / (m + 2)."""
    p1 = (circuit.wire_values(calibration).sum(axis=0) + 1.0) / (len(calibration) + 2.0)
    values = circuit.wire_values(x)
    return np.max(-np.log2(np.where(values == 1, p1[None, :], 1.0 - p1[None, :])), axis=1)


@pytest.mark.parametrize("spec,match", [("rare-wire:calibration=0", "calibration"),
                                        ("rare-wire:holdout=0", "holdout"),
                                        ("rare-wire:fpr=0", "fpr"), ("rare-wire:fpr=1.5", "fpr")])
def test_parameters_are_validated(spec, match):
    with pytest.raises(ParameterError, match=match):
        build("defenders", spec)
    assert repr(RareWire()) == "rare-wire" and repr(RareWire(calibration=64, fpr=0.05)) == \
        "rare-wire:calibration=64,fpr=0.05"


def test_refuses_members_without_wire_values():
    cls = Parities(8)
    with pytest.raises(IncompatibleError, match="ParityFunction.*circuits"):
        RareWire().fit(cls, Counted(ParityFunction(np.ones(8, dtype=np.uint8))),
                       Recording(UniformCube(8), np.random.default_rng(0)), 0.1, np.random.default_rng(0))


@pytest.mark.parametrize("small_chunks", [False, True])
def test_scores_and_threshold_equal_a_brute_force_on_disjoint_draws(monkeypatch, small_chunks):
    if small_chunks:  # several chunks per batch, one of them partial
        monkeypatch.setattr(rare_wire, "MAX_CHUNK_BYTES", 1 << 10)
    n, m, h, q = 18, 300, 250, 205  # sizes off the 64-input word boundary
    _, bad, p = planted(n, 10, seed=1)
    x = np.concatenate([p[None], UniformCube(n).sample(np.random.default_rng(2), q - 1)])
    # circuits-class members are read packed; any other member through wire_values
    assert rare_wire.netlist_of(Counted(bad)) is bad.circuit and rare_wire.netlist_of(Opaque(bad.circuit)) is None
    assert rare_wire.netlist_of(type("Sub", (CircuitFunction,), {})(bad.circuit)) is None
    for g in (bad, Opaque(bad.circuit)):
        detector, sampler, counted = _fit(g, n, RareWire(calibration=m, holdout=h, fpr=0.05))
        calibration, holdout = sampler.handed
        assert len(calibration) == m and len(holdout) == h and sampler.drawn == m + h
        np.testing.assert_array_equal(detector.ones, bad.circuit.wire_values(calibration).sum(axis=0))
        expected = _brute_scores(bad.circuit, calibration, holdout)
        assert detector.threshold == np.quantile(expected, 0.95, method="higher")
        scores, decisions = detector.score_and_decide(x)
        np.testing.assert_allclose(scores, _brute_scores(bad.circuit, calibration, x), rtol=1e-12)
        np.testing.assert_array_equal(decisions, scores > detector.threshold)
        # white-box reads bypass the evaluation counter, and are counted here instead
        assert counted.evaluations == 0 and detector.wire_evaluations == m + h + q
        assert detector.score(np.zeros((0, n), dtype=np.uint8)).shape == (0,)


def test_planted_pattern_scores_the_ceiling_and_separates():
    # 40 plants of a 20-bit pattern in a 24-input circuit. The chain's last wire is 1
    # with probability 2^-20, so 4096 calibration inputs never see it: at p it scores
    # the most any wire can, log2(4096 + 2) bits (~12; the true 20 bits would need
    # about 2^20 calibration inputs to show). Clean wires are balanced or AND-biased
    # (1/4), so clean inputs score a few bits.
    n, k, plants = 24, 20, 40
    ceiling = math.log2(4096 + 2)
    at_p, clean_fresh, planted_fresh, rejected = [], [], [], 0
    for seed in range(plants):
        clean, bad, p = planted(n, k, seed=100 + seed)
        fresh = UniformCube(n).sample(np.random.default_rng(seed), 2)
        detector, _, _ = _fit(bad, n, seed=2 * seed)
        s = detector.score(np.concatenate([p[None], fresh[:1]]))
        at_p.append(s[0])
        planted_fresh.append(s[1])
        rejected += int(detector.decide(p[None])[0])
        clean_detector, _, _ = _fit(clean, n, seed=2 * seed + 1)
        clean_fresh.append(clean_detector.score(fresh[1:])[0])
    np.testing.assert_allclose(at_p, ceiling, rtol=1e-12)
    assert rejected == plants
    assert max(clean_fresh) < 4.0
    assert stats.auroc(clean_fresh, at_p) >= 0.99
    assert stats.auroc(planted_fresh, at_p) >= 0.99


def test_false_positive_rate_on_fresh_clean_inputs():
    # Scores of the planted circuit at clean inputs spread over many levels (the chain's
    # prefix matches). The threshold is the j-th smallest of h holdout scores, so a
    # fresh clean input exceeds it with probability distributed as at most
    # Beta(h - j + 1, j) over the holdout draw (exchangeability; ties only lower it).
    n, m, fpr, fresh = 24, 4096, 0.01, 20000
    _, bad, _ = planted(n, 20, seed=7)
    detector, _, _ = _fit(bad, n, RareWire(calibration=m, fpr=fpr), seed=3)
    j = math.ceil((1 - fpr) * (m - 1)) + 1  # numpy's "higher" quantile, 1-based rank
    bound = st.beta.ppf(1 - (1 - LEVEL) / 2, m - j + 1, j)
    rejects = int(detector.decide(UniformCube(n).sample(np.random.default_rng(4), fresh)).sum())
    assert 0 < rejects and stats.wilson(rejects, fresh, LEVEL)[0] <= bound


def test_plays_a_game_against_point_flip():
    # point-flip on circuits appends an n-literal equality test of x*: its last AND is a
    # wire clean inputs never set, so every backdoor is caught.
    r = play("circuits:n=32", "point-flip", "rare-wire:calibration=1024", eps=0.01, rounds=30, seed=0)
    assert r.rounds - r.void_rounds == 30 and r.beta == 0.0
    assert r.cost["samples_per_decision"] == 2048 and r.cost["evaluations_per_decision"] == 0
    assert r.auroc is not None and r.auroc >= 0.9
