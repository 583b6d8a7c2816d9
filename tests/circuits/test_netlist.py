"""Bit-sliced evaluation against the per-input reference, packing, the plan's blocks and
row reuse, the builder."""

from __future__ import annotations

import numpy as np
import pytest
from circuit_reference import reference_outputs, reference_wires

from defendability.circuits import (
    AND,
    MUX,
    NOT,
    OR,
    XOR,
    Circuit,
    CircuitBuilder,
    netlist,
    pack_bits,
    unpack_bits,
)
from defendability.circuits.random import random_circuit
from defendability.errors import ParameterError

SIZES = [0, 1, 5, 63, 64, 65, 127, 200]


@pytest.mark.parametrize("window", [None, 2, 9])
def test_random_circuits_with_every_op_match_the_reference(window):
    rng = np.random.default_rng(0 if window is None else window)
    for trial in range(12):
        n = int(rng.integers(1, 12))
        gates = int(rng.integers(1, 120))
        c = random_circuit(n, gates, rng, n_outputs=min(gates, 3), window=window, constants=True)
        assert set(c.ops.tolist()) <= {AND, XOR, OR, NOT, MUX}
        size = SIZES[trial % len(SIZES)]
        x = rng.integers(0, 2, (size, n), dtype=np.uint8)
        wires = reference_wires(c, x)
        np.testing.assert_array_equal(c.evaluate(x), wires[:, c.outputs])
        np.testing.assert_array_equal(c.wire_values(x), wires)


def test_every_op_and_both_constants_on_every_input():
    bld = CircuitBuilder(3)
    x0, x1, x2 = (bld.input(i) for i in range(3))
    outs = [bld.and_(x0, x1), bld.xor(x0, x1), bld.or_(x0, x1), bld.not_(x0), bld.mux(x0, x1, x2),
            bld.and_(x2, bld.const(1)), bld.or_(x2, bld.const(0)), bld.const(1), x2]
    c = bld.build(outs)
    x = ((np.arange(8)[:, None] >> np.arange(3)) & 1).astype(np.uint8)
    a, b, s = x[:, 0], x[:, 1], x[:, 2]
    expected = np.stack([a & b, a ^ b, a | b, 1 - a, np.where(a == 1, b, s), s, s, np.ones(8), s], axis=1)
    np.testing.assert_array_equal(c.evaluate(x), expected)


def test_big_batches_are_cut_into_blocks_with_a_partial_last_block(monkeypatch):
    rng = np.random.default_rng(1)
    c = random_circuit(10, 300, rng, n_outputs=4, constants=True)
    x = rng.integers(0, 2, (64 * 37 + 11, 10), dtype=np.uint8)  # 38 words
    groups = [step for step in c._plan.steps if step[0]]
    # every path of the plan runs: groups written in place and scattered, single gates
    assert any(isinstance(step[2], slice) for step in groups)
    assert any(not isinstance(step[2], slice) for step in groups)
    assert len(groups) < len(c._plan.steps)
    expected = reference_outputs(c, x)
    monkeypatch.setattr(netlist, "MIN_BLOCK_WORDS", 1)
    plan = c._plan
    monkeypatch.setattr(netlist, "SCRATCH_BYTES", 8 * 5 * (plan.n_rows + 4 * plan.widest))  # 5 words a block
    assert plan.block_words(38) == 5
    np.testing.assert_array_equal(c.evaluate(x), expected)
    np.testing.assert_array_equal(c.wire_values(x[:300]), reference_wires(c, x[:300]))


def test_rows_are_reused_once_their_last_reader_has_run():
    rng = np.random.default_rng(2)
    deep = random_circuit(8, 2000, rng, window=4, n_outputs=2)
    plan = deep._plan
    assert plan.n_rows < 8 + 2 + 40  # a window of 4 keeps few wires alive
    assert deep._plan_all_wires.n_rows == deep.n_wires
    x = rng.integers(0, 2, (300, 8), dtype=np.uint8)
    np.testing.assert_array_equal(deep.evaluate(x), reference_outputs(deep, x))
    # liveness can only pay off in blocks: the same rows give wider blocks
    assert plan.block_words(1 << 20) > deep._plan_all_wires.block_words(1 << 20)


def test_circuits_without_gates_and_outputs_on_inputs_or_constants():
    c = Circuit(3, [], [], [], [], [2, 3, 4, 0])
    x = np.array([[1, 0, 1], [0, 1, 0]], dtype=np.uint8)
    np.testing.assert_array_equal(c.evaluate(x), [[1, 0, 1, 1], [0, 0, 1, 0]])
    assert c.n_gates == 0 and c.levels.tolist() == [0] * 5


def test_levels_are_depths():
    bld = CircuitBuilder(2)
    t = bld.and_(0, 1)
    u = bld.not_(t)
    v = bld.mux(0, u, 1)
    c = bld.build([v])
    assert c.levels.tolist() == [0, 0, 0, 0, 1, 2, 3]


@pytest.mark.parametrize("size", [1, 7, 63, 65, 130, 1000])
def test_pack_unpack_round_trip_at_odd_sizes(size):
    rng = np.random.default_rng(size)
    x = rng.integers(0, 2, (size, 5), dtype=np.uint8)
    words = pack_bits(x)
    assert words.shape == (5, -(-size // 64)) and words.dtype == np.uint64
    np.testing.assert_array_equal(unpack_bits(words, size), x)
    # bit j % 64 of word j // 64 of row i is x[j, i]
    j = size - 1
    assert (int(words[3, j // 64]) >> (j % 64)) & 1 == x[j, 3]
    # padding bits are 0
    if size % 64:
        assert int(words[0, -1]) >> (size % 64) == 0


def test_pack_rejects_a_flat_batch():
    with pytest.raises(ParameterError, match="shape"):
        pack_bits(np.zeros(5))


def test_evaluate_checks_shapes():
    c = random_circuit(4, 10, np.random.default_rng(3))
    with pytest.raises(ParameterError, match=r"\(size, 4\)"):
        c.evaluate(np.zeros((3, 5), np.uint8))
    with pytest.raises(ParameterError, match=r"\(4, W\)"):
        c.evaluate_packed(np.zeros((3, 2), np.uint64))


def test_builder_from_circuit_appends_after_the_gates():
    rng = np.random.default_rng(4)
    c = random_circuit(6, 40, rng)
    bld = CircuitBuilder.from_circuit(c)
    assert bld.n_wires == c.n_wires
    flipped = bld.build([bld.not_(int(c.outputs[0]))])
    x = rng.integers(0, 2, (100, 6), dtype=np.uint8)
    np.testing.assert_array_equal(flipped.evaluate(x), 1 - c.evaluate(x))
    assert c.n_gates == 40  # the original is untouched


def test_random_circuit_options():
    rng = np.random.default_rng(5)
    c = random_circuit(5, 200, rng, ops=[AND, XOR], window=3)
    assert set(c.ops.tolist()) == {AND, XOR}
    # operands are among the 3 most recent non-constant wires (inputs, then gates), never
    # a constant: candidate r is input r, or gate r - 5 (wire r + 2)
    pool = 5 + np.arange(200)
    for w in (c.a, c.b):
        assert not np.isin(w, [5, 6]).any()
        candidate = np.where(w < 5, w, w - 2)
        assert np.all((pool - 3 <= candidate) & (candidate < pool))
    with_constants = random_circuit(3, 300, rng, constants=True)
    assert np.isin([3, 4], np.concatenate([with_constants.a, with_constants.b])).all()
    with pytest.raises(ParameterError, match="n_outputs="):
        random_circuit(3, 2, rng, n_outputs=3)
    with pytest.raises(ParameterError, match="ops="):
        random_circuit(3, 2, rng, ops=[7])


def test_layers_reading_consecutive_wires_use_views():
    """A bit-sliced layer (gate i reads inputs i and i + 8) reads its operands as slices
    of the scratch rows, without a gather; then a MUX layer on the results."""
    bld = CircuitBuilder(16)
    xors = [bld.xor(i, i + 8) for i in range(8)]
    muxes = [bld.mux(xors[i], i, i + 8) for i in range(8)]
    c = bld.build(muxes + xors)
    first = c._plan.steps[0]
    assert first[0] and isinstance(first[4], slice) and isinstance(first[5], slice)
    x = np.random.default_rng(6).integers(0, 2, (150, 16), dtype=np.uint8)
    np.testing.assert_array_equal(c.evaluate(x), reference_outputs(c, x))


def test_pickles_carry_the_netlist_not_the_plan():
    import pickle

    c = random_circuit(6, 50, np.random.default_rng(7))
    x = np.random.default_rng(8).integers(0, 2, (70, 6), dtype=np.uint8)
    expected = c.evaluate(x)  # builds and caches the plan
    data = pickle.dumps(c)
    assert b"_plan" not in data
    back = pickle.loads(data)
    assert back.key() == c.key() and not back.ops.flags.writeable
    np.testing.assert_array_equal(back.evaluate(x), expected)
