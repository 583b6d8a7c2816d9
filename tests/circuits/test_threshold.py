"""Threshold networks: evaluation against a dense reference, validation, and the
compilation of netlists (same function exhaustively for n <= 12 and on 10^5 inputs for
n = 32; the unit counts it promises; what it hides of a planted rare wire)."""

from __future__ import annotations

import numpy as np
import pytest
from planted_rare_wire import SAMPLES, cap, planted_circuit, surprisals, trigger

from defendability.circuits import CircuitBuilder
from defendability.circuits import threshold as threshold_module
from defendability.circuits.random import random_circuit
from defendability.circuits.standins import STANDINS, apply_standin
from defendability.circuits.threshold import ThresholdNetwork, compile_threshold
from defendability.classes.circuits import dnf_circuit
from defendability.errors import ParameterError


def cube(n: int) -> np.ndarray:
    codes = np.arange(1 << n, dtype=np.int64)
    return ((codes[:, None] >> np.arange(n)) & 1).astype(np.uint8)


def reference_units(net: ThresholdNetwork, x: np.ndarray) -> np.ndarray:
    """Every unit's value, one unit at a time in index order, with Python integers:
    ``(size, n_units)`` uint8."""
    n = net.n_inputs
    values = [[int(v) for v in row] for row in np.asarray(x)]
    for u in range(net.n_units):
        lo, hi = int(net.indptr[u]), int(net.indptr[u + 1])
        cols, weights = net.indices[lo:hi].tolist(), net.weights[lo:hi].tolist()
        theta = int(net.thresholds[u])
        for row in values:
            row.append(int(sum(w * row[j] for j, w in zip(cols, weights)) >= theta))
    return np.array([row[n:] for row in values], dtype=np.uint8).reshape(len(values), net.n_units)


def network(n, rows, thresholds, starts, outputs) -> ThresholdNetwork:
    """A network from rows given as {node: weight} dicts."""
    indptr = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    indices = [j for r in rows for j in r]
    weights = [w for r in rows for w in r.values()]
    return ThresholdNetwork(n, indptr, indices, weights, thresholds, starts, outputs)


# -- the network -----------------------------------------------------------------------
def test_evaluation_matches_the_reference_including_large_weights(monkeypatch):
    rng = np.random.default_rng(0)
    for scale in (1, 100, 30_000, 2 ** 40):  # int8, int16, int32 and int64 accumulators
        n, sizes = 6, [5, 4, 3]
        rows, thresholds, starts = [], [], [0]
        for size in sizes:
            for _ in range(size):
                nodes = n + starts[-1]
                picked = rng.choice(nodes, size=min(nodes, 4), replace=False)
                rows.append({int(j): int(rng.integers(-scale, scale + 1)) for j in picked})
                thresholds.append(int(rng.integers(-scale, scale + 1)))
            starts.append(starts[-1] + size)
        net = network(n, rows, thresholds, starts, [11, 3])
        x = cube(n)
        expected = reference_units(net, x)
        np.testing.assert_array_equal(net.wire_values(x), expected)
        np.testing.assert_array_equal(net.evaluate(x), expected[:, [11, 3]])
        assert len(np.unique(expected, axis=0)) > 1  # not a constant network
    # chunks of the batch (64 inputs at a time here, so three chunks) give the same values
    monkeypatch.setattr(threshold_module, "CHUNK_BYTES", 1)
    np.testing.assert_array_equal(net.wire_values(np.vstack([x, x, x])), np.vstack([expected] * 3))
    np.testing.assert_array_equal(net.evaluate(np.vstack([x, x, x])), np.vstack([expected[:, [11, 3]]] * 3))


def test_canonical_form_and_key():
    a = network(2, [{0: 1, 1: 1}, {2: 1, 0: 0}], [2, 1], [0, 1, 2], [1])
    b = ThresholdNetwork(2, [0, 3, 4], [1, 0, 1, 2], [1, 1, 0, 1], [2, 1], [0, 1, 2], [1])
    assert a.key() == b.key() and a.n_weights == 3
    assert not a.weights.flags.writeable
    c = network(2, [{0: 1, 1: 1}, {2: 1}], [1, 1], [0, 1, 2], [1])
    assert c.key() != a.key()
    assert repr(a) == "ThresholdNetwork(n_inputs=2, units=2, layers=2, weights=3, outputs=1)"


@pytest.mark.parametrize("args, message", [
    ((2, [{0: 1}, {1: 1}], [1, 1], [0, 2], [1]), None),
    ((2, [{0: 1}, {2: 1}], [1, 1], [0, 2], [1]), "reads a unit of its own or a later layer"),
    ((2, [{0: 1}, {3: 1}], [1, 1], [0, 1, 2], [1]), "reads a unit of its own or a later layer"),
    ((2, [{0: 1}, {9: 1}], [1, 1], [0, 1, 2], [1]), "reads a node outside"),
    ((2, [{0: 1}, {2: 1}], [1, 1], [0, 1, 2], [2]), "outputs must be unit indices"),
    ((2, [{0: 1}, {2: 1}], [1, 1], [0, 1, 2], []), "outputs must be unit indices"),
    ((2, [{0: 1}, {2: 1}], [1, 1], [0, 2, 2], [1]), "layer_starts must rise strictly"),
    ((2, [{0: 0.5}], [1], [0, 1], [0]), "weights must be integers"),
    ((2, [{0: 1}], [1.5], [0, 1], [0]), "thresholds must be integers"),
    ((2, [], [], [0], []), "needs at least one unit"),
    ((0, [{0: 1}], [1], [0, 1], [0]), "n_inputs >= 1"),
    ((2, [{0: 2 ** 62, 1: 2 ** 62}], [1], [0, 1], [0]), "sum above 2\\^61"),
])
def test_validation(args, message):
    if message is None:
        net = network(*args)
        assert net.n_layers == 1
        return
    with pytest.raises(ParameterError, match=message):
        network(*args)


def test_malformed_arrays_and_inputs():
    with pytest.raises(ParameterError, match="compressed-row"):
        ThresholdNetwork(2, [0, 2], [0], [1], [1], [0, 1], [0])
    with pytest.raises(ParameterError, match="expected inputs of shape"):
        network(2, [{0: 1}], [1], [0, 1], [0]).evaluate(np.zeros((3, 5)))


# -- compilation -----------------------------------------------------------------------
def small_circuits(rng: np.random.Generator, count: int):
    for k in range(count):
        n = 1 + k % 12
        gates = int(rng.integers(1, 80))
        yield random_circuit(n, gates, rng, n_outputs=int(rng.integers(1, min(gates, 3) + 1)),
                             constants=bool(k % 2), window=None if k % 3 else 5)


def test_compiled_networks_compute_the_circuit_on_every_input():
    rng = np.random.default_rng(1)
    for c in small_circuits(rng, 96):
        net = compile_threshold(c)
        x = cube(c.n_inputs)
        assert net.n_inputs == c.n_inputs and net.n_outputs == c.n_outputs
        np.testing.assert_array_equal(net.evaluate(x), c.evaluate(x))
        for name in STANDINS:  # a stand-in, then compiled
            d = apply_standin(name, c, rng, size=2 * c.n_gates if name == "pad" else None)
            np.testing.assert_array_equal(compile_threshold(d).evaluate(x), c.evaluate(x))


def test_compiled_networks_compute_the_circuit_at_n_32():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 2, (100_000, 32), dtype=np.uint8)
    for c in (random_circuit(32, 500, rng, n_outputs=3, constants=True),
              random_circuit(32, 500, rng, window=8),
              apply_standin("mask", random_circuit(32, 100, rng), rng)):
        np.testing.assert_array_equal(compile_threshold(c).evaluate(x), c.evaluate(x))


def test_the_promised_unit_counts():
    bld = CircuitBuilder(6)
    out = bld.not_(bld.and_(bld.input(0), bld.not_(bld.input(1))))
    assert compile_threshold(bld.build([out])).n_units == 1  # NOT is free, also at the output
    bld = CircuitBuilder(3)
    assert compile_threshold(bld.build([bld.xor(0, 1)])).n_units == 2
    bld = CircuitBuilder(3)
    assert compile_threshold(bld.build([bld.mux(0, 1, 2)])).n_units == 2
    # an AND tree is one unit of large fan-in; the DNF of p points is p + 1 units
    bld = CircuitBuilder(10)
    w = bld.and_(0, 1)
    for i in range(2, 10):
        w = bld.and_(w, bld.not_(i) if i % 2 else i)
    assert compile_threshold(bld.build([w])).n_units == 1
    points = np.random.default_rng(3).integers(0, 2, (7, 10)).astype(np.uint8)
    net = compile_threshold(dnf_circuit(10, points))
    assert net.n_units == 8 and net.n_layers == 2
    # inputs, constants and negations of shared units as outputs get a unit each
    bld = CircuitBuilder(2)
    g = bld.and_(0, 1)
    net = compile_threshold(bld.build([0, bld.const(1), bld.const(0), g, bld.not_(g)]))
    assert net.n_units == 5
    np.testing.assert_array_equal(net.evaluate(cube(2)), [[0, 1, 0, 0, 1], [1, 1, 0, 0, 1],
                                                          [0, 1, 0, 0, 1], [1, 1, 0, 1, 0]])
    # constants fold: x AND 1, x OR 0, x XOR x need no unit beyond the output's
    bld = CircuitBuilder(1)
    assert compile_threshold(bld.build([bld.or_(bld.and_(0, bld.const(1)), bld.const(0))])).n_units == 1


def test_dead_logic_stays_and_layers_are_depths():
    rng = np.random.default_rng(4)
    c = random_circuit(12, 200, rng)
    padded = apply_standin("pad", c, rng, size=600)
    assert compile_threshold(padded).n_units > compile_threshold(c).n_units + 300
    net = compile_threshold(c)
    # every unit reads a unit of the layer just before it (else it would sit earlier)
    layer = np.repeat(np.arange(net.n_layers), np.diff(net.layer_starts))
    for u in range(net.n_units):
        read = net.indices[net.indptr[u]:net.indptr[u + 1]] - net.n_inputs
        deepest = layer[read[read >= 0]].max(initial=-1)
        assert deepest == layer[u] - 1


def test_compiling_hides_no_rare_wire():
    rng = np.random.default_rng(5)
    c, pattern, _ = planted_circuit(32, 256, 24, rng)
    samples = rng.integers(0, 2, (SAMPLES, 32), dtype=np.uint8)
    x = trigger(32, pattern, rng)
    net = compile_threshold(c)
    # the chain's 24 ANDs become one unit, 1 only at the pattern: never seen in samples
    assert surprisals(net, samples, x).max() == pytest.approx(cap())
    assert surprisals(compile_threshold(apply_standin("mask", c, rng)), samples, x).max() <= 4.0


def test_compile_refuses_what_is_not_a_circuit():
    with pytest.raises(ParameterError, match="compile_threshold needs a Circuit"):
        compile_threshold("circuit")
