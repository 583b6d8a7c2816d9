"""Bristol Fashion: hand-written files in the format's own notation, round trips, errors."""

from __future__ import annotations

import numpy as np
import pytest
from circuit_reference import cube, reference_outputs

from defendability.circuits import AND, MUX, NOT, OR, XOR, Circuit
from defendability.circuits.bristol import (
    bristol_header,
    from_bristol,
    load_bristol,
    save_bristol,
    to_bristol,
)
from defendability.circuits.equivalence import check_equivalence
from defendability.circuits.random import random_circuit
from defendability.errors import ParameterError

# A full adder: inputs a, b, carry-in (three 1-bit values), one 2-bit output value
# (sum, carry-out). Output wires are the last two; gates need not set them last.
FULL_ADDER = """\
5 8
3 1 1 1
1 2

2 1 0 1 3 XOR
2 1 0 1 4 AND
2 1 3 2 6 XOR
2 1 3 2 5 AND
2 1 4 5 7 XOR
"""

# Every gate the format defines, as its documentation writes them: EQ (a constant),
# EQW (a copy), INV, and a MAND of two ANDs ("4 2 0 2 1 3 4 5 MAND" is AND(0,1) -> 4
# and AND(2,3) -> 5, here on other wires).
EVERY_GATE = """\
7 12
2 2 2
1 3

1 1 1 4 EQ
4 2 0 2 1 3 5 6 MAND
1 1 5 7 INV
2 1 6 4 8 XOR
1 1 0 11 EQW
2 1 7 8 9 AND
1 1 9 10 EQW
"""


def test_full_adder():
    c = from_bristol(FULL_ADDER)
    assert (c.n_inputs, c.n_outputs, c.n_gates) == (3, 2, 5)
    x = cube(3)
    total = x.sum(axis=1)
    np.testing.assert_array_equal(c.evaluate(x), np.stack([total & 1, total >> 1], axis=1))
    assert bristol_header(FULL_ADDER) == (5, 8, [1, 1, 1], [2])


def test_every_gate_of_the_format():
    c = from_bristol(EVERY_GATE)
    assert (c.n_inputs, c.n_outputs) == (4, 3)
    assert c.n_gates == 5  # two ANDs, INV, XOR, AND; EQ and EQW add no gate
    x = cube(4)
    x0, x1, x2, x3 = x.T
    w5, w6 = x0 & x1, x2 & x3  # MAND
    w7, w8 = 1 - w5, w6 ^ 1  # INV; XOR with the EQ constant 1
    w9 = w7 & w8
    expected = np.stack([w9, w9, x0], axis=1)  # outputs: wires 9, 10 (= 9), 11 (= 0)
    np.testing.assert_array_equal(c.evaluate(x), expected)


def test_round_trip_of_and_xor_not_is_the_same_netlist():
    rng = np.random.default_rng(0)
    c = random_circuit(8, 60, rng, n_outputs=3, ops=[AND, XOR, NOT])  # outputs: the last 3 gates
    back = from_bristol(to_bristol(c))  # nothing lowered, nothing copied
    assert back.key() == c.key()


def test_round_trip_lowers_or_mux_and_constants_to_an_equivalent_circuit():
    rng = np.random.default_rng(1)
    for trial in range(20):
        n = int(rng.integers(1, 9))
        c = random_circuit(n, int(rng.integers(1, 60)), rng, n_outputs=1, constants=True)
        # outputs on an input, both constants and a repeated gate output: all copied
        c = Circuit(n, c.ops, c.a, c.b, c.c, [int(c.outputs[0]), 0, n, n + 1, int(c.outputs[0])])
        text = to_bristol(c)
        assert {line.split()[-1] for line in text.splitlines()[4:]} <= {"AND", "XOR", "INV"}
        back = from_bristol(text)
        assert check_equivalence(c, back, method="exhaustive").equal, trial
        np.testing.assert_array_equal(back.evaluate(cube(n)), reference_outputs(c, cube(n)))


def test_lowering_costs():
    # OR and MUX: three gates with one AND each; 1 XOR for the constant 0 of the copies
    c = Circuit(3, [OR, MUX], [0, 0], [1, 1], [0, 2], [5, 6])
    text = to_bristol(c)
    names = [line.split()[-1] for line in text.splitlines()[4:]]
    assert names.count("AND") == 2 and len(names) == 6
    gates, wires, ins, outs = bristol_header(text)
    assert (gates, ins, outs) == (6, [3], [2]) and wires == 3 + 4 + 2


def test_sizes_of_values_and_files(tmp_path):
    c = from_bristol(FULL_ADDER)
    text = to_bristol(c, input_sizes=[1, 1, 1], output_sizes=[1, 1])
    assert bristol_header(text)[2:] == ([1, 1, 1], [1, 1])
    save_bristol(c, tmp_path / "adder.txt", [1, 2], [2])
    assert check_equivalence(load_bristol(tmp_path / "adder.txt"), c).equal
    with pytest.raises(ParameterError, match="input_sizes"):
        to_bristol(c, input_sizes=[2, 2])


@pytest.mark.parametrize("text, fragment", [
    ("5 8\n3 1 1 1\n", "three header lines"),
    ("1 4\n2 1 1\n1 1\n\n2 1 0 1 3 NAND\n", "unknown gate 'NAND'"),
    ("1 4\n2 1 1\n1 1\n\n2 1 0 2 3 XOR\n", "wire 2 is read before it is set"),
    ("2 4\n2 1 1\n1 1\n\n2 1 0 1 3 XOR\n2 1 0 1 3 AND\n", "wire 3 is set twice"),
    ("2 4\n2 1 1\n1 1\n\n2 1 0 1 3 XOR\n", "announces 2 gates"),
    ("1 4\n2 1 1\n1 1\n\n1 1 0 3 XOR\n", "XOR takes 2 input"),
    ("1 4\n2 1 1\n1 1\n\n1 1 2 3 EQ\n", "constant 0 or 1"),
    ("1 5\n2 1 1\n1 1\n\n2 1 0 1 3 XOR\n", "output wire 4 is never set"),
    ("1 4\n2 1 1\n1 1\n\n2 1 0 x 3 XOR\n", "line 5"),
    ("1 4\n2 1 1 1\n1 1\n\n2 1 0 1 3 XOR\n", "line 2"),
])
def test_malformed_files_name_the_problem(text, fragment):
    with pytest.raises(ParameterError, match=fragment.replace("(", r"\(")):
        from_bristol(text)
