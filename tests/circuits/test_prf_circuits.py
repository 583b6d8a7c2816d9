"""The PRF netlists of THEORY.md §5.2: Goldreich's PRG, the GGM circuit against its
numpy reference, and the punctured circuit (F_K off x*, the flipped bit at x*)."""

from __future__ import annotations

import numpy as np
import pytest

from defendability.circuits.netlist import AND, MUX, XOR
from defendability.circuits.prf import (
    DEFAULT_LAM,
    GoldreichGGM,
    goldreich_graph,
    goldreich_prg,
    prf_circuit,
    prf_gate_count,
    punctured_circuit,
    punctured_gate_count,
)
from defendability.errors import ParameterError


def _cube(n: int) -> np.ndarray:
    return ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(np.uint8)


def _walk(key: np.ndarray, x: np.ndarray, graph: np.ndarray) -> int:
    """F_K(x) one bit and one level at a time, from the definition."""
    s = [int(b) for b in key]
    lam = len(s)
    for bit in x.tolist():
        out = [s[a] ^ s[b] ^ s[c] ^ (s[d] & s[e]) for a, b, c, d, e in graph.tolist()]
        s = out[lam:] if bit else out[:lam]
    return s[0]


def test_graph_is_public_fixed_and_five_distinct_bits():
    g = goldreich_graph(64)
    assert g.shape == (128, 5)
    assert all(len(set(row)) == 5 for row in g.tolist())
    assert g.min() >= 0 and g.max() < 64
    np.testing.assert_array_equal(g, goldreich_graph(64, 0))
    assert not np.array_equal(g, goldreich_graph(64, 1))
    assert len({tuple(r) for r in g.tolist()}) > 120  # rows drawn independently
    with pytest.raises(ValueError):
        g[0, 0] = 1  # read-only: the public graph cannot be changed by accident


def test_prg_is_the_predicate():
    rng = np.random.default_rng(0)
    graph = goldreich_graph(16)
    seeds = rng.integers(0, 2, size=(50, 16), dtype=np.uint8)
    out = goldreich_prg(seeds, graph)
    assert out.shape == (50, 32) and out.dtype == np.uint8
    for s, o in zip(seeds, out):
        expected = [s[a] ^ s[b] ^ s[c] ^ (s[d] & s[e]) for a, b, c, d, e in graph.tolist()]
        assert o.tolist() == expected


def test_reference_is_the_definition():
    rng = np.random.default_rng(1)
    prf = GoldreichGGM.random(12, 32, rng)
    x = rng.integers(0, 2, size=(30, 12), dtype=np.uint8)
    assert prf.evaluate(x).tolist() == [_walk(prf.key, row, prf.graph) for row in x]


@pytest.mark.parametrize("lam", [16, DEFAULT_LAM])
def test_prf_circuit_equals_the_reference_on_the_whole_cube(lam):
    rng = np.random.default_rng(2)
    prf = GoldreichGGM.random(10, lam, rng)
    c = prf_circuit(prf)
    cube = _cube(10)
    out = c.evaluate(cube)
    assert out.shape == (1024, 1)
    np.testing.assert_array_equal(out[:, 0], prf.evaluate(cube))
    assert 0.4 < prf.evaluate(cube).mean() < 0.6  # not a constant or near-constant function
    assert c.n_gates == prf_gate_count(10, lam)


def test_prf_circuit_at_n_32():
    rng = np.random.default_rng(3)
    prf = GoldreichGGM.random(32, DEFAULT_LAM, rng)
    c = prf_circuit(prf)
    x = rng.integers(0, 2, size=(3000, 32), dtype=np.uint8)
    np.testing.assert_array_equal(c.evaluate(x)[:, 0], prf.evaluate(x))
    assert c.n_gates == prf_gate_count(32, DEFAULT_LAM) == 17_865


def test_the_key_sits_in_constant_wires_of_the_first_level():
    prf = GoldreichGGM(np.tile([1, 0, 0, 1], 4), 8)
    c = prf_circuit(prf)
    first = slice(0, 8 * 16)  # level 0: 2 lam predicates of 4 gates, all on the key bits
    xors = (c.ops[first] == XOR)
    assert set(c.ops[first].tolist()) == {XOR, AND}
    reads_const = np.isin(c.a[first], [c.const0, c.const1]) | np.isin(c.b[first], [c.const0, c.const1])
    assert reads_const[c.ops[first] == AND].all()  # d & e: two key bits
    assert xors.sum() == 3 * 32
    assert c.ops[8 * 16] == MUX and c.a[8 * 16] == 0  # then the MUX by x_1


@pytest.mark.parametrize("lam", [16, DEFAULT_LAM])
def test_punctured_circuit_exhaustively_at_n_10(lam):
    rng = np.random.default_rng(4)
    prf = GoldreichGGM.random(10, lam, rng)
    cube = _cube(10)
    full = prf.evaluate(cube)
    for star in (0, 1023, int(rng.integers(1024))):
        c = punctured_circuit(prf, cube[star])
        assert c.n_gates == punctured_gate_count(10, lam)
        out = c.evaluate(cube)[:, 0]
        expected = full.copy()
        expected[star] ^= 1
        np.testing.assert_array_equal(out, expected)


def test_punctured_circuit_at_n_32_near_and_far():
    rng = np.random.default_rng(5)
    prf = GoldreichGGM.random(32, DEFAULT_LAM, rng)
    x_star = rng.integers(0, 2, size=32, dtype=np.uint8)
    c = punctured_circuit(prf, x_star)
    assert c.n_gates == punctured_gate_count(32, DEFAULT_LAM) == 19_307
    neighbours = np.repeat(x_star[None], 32, axis=0)
    neighbours[np.arange(32), np.arange(32)] ^= 1
    two_away = neighbours.copy()
    two_away[np.arange(32), (np.arange(32) + 7) % 32] ^= 1
    x = np.concatenate([x_star[None], neighbours, two_away, rng.integers(0, 2, size=(3000, 32), dtype=np.uint8)])
    out = c.evaluate(x)[:, 0]
    ref = prf.evaluate(x)
    assert out[0] == 1 - ref[0]
    np.testing.assert_array_equal(out[1:], ref[1:])


def test_punctured_circuit_holds_the_siblings_not_the_key():
    rng = np.random.default_rng(6)
    prf = GoldreichGGM.random(8, 16, rng)
    x_star = rng.integers(0, 2, size=8, dtype=np.uint8)
    sib = prf.siblings(x_star)
    for i in range(8):
        prefix = np.append(x_star[:i], 1 - x_star[i])
        # the sibling seed is the node at its prefix: the walk of the reference
        s = prf.key
        for bit in prefix.tolist():
            g = goldreich_prg(s[None], prf.graph)[0]
            s = g[16:] if bit else g[:16]
        np.testing.assert_array_equal(sib[i], s)
    # same size whatever x*: the size does not tell the trigger
    sizes = {punctured_circuit(prf, p).n_gates for p in _cube(8)[::37]}
    assert sizes == {punctured_gate_count(8, 16)}


def test_key_hidden_from_repr_and_parameters_checked():
    prf = GoldreichGGM(np.ones(16, np.uint8), 8)
    assert repr(prf) == "GoldreichGGM(n=8, lam=16, graph_seed=0)"
    for kwargs, fragment in [({"key": np.ones(8), "n": 8}, "lam"), ({"key": np.full(16, 2), "n": 8}, "0/1"),
                             ({"key": np.ones(16), "n": 7}, "n must"),
                             ({"key": np.ones(16), "n": 8, "graph_seed": -1}, "graph_seed")]:
        with pytest.raises(ParameterError, match=fragment):
            GoldreichGGM(**kwargs)
    with pytest.raises(ParameterError, match="0/1"):
        prf.evaluate(np.full((1, 8), 3))


def test_gate_counts_at_n_32_are_reported():
    # the sizes the docs report: under 30,000 gates at the default lam = 64
    assert prf_gate_count(32, 64) < punctured_gate_count(32, 64) < 30_000
