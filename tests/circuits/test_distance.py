"""Exact distances by packed enumeration of the cube, against brute force."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from circuit_reference import cube, reference_outputs

from defendability.circuits import Circuit, pack_bits
from defendability.circuits.distance import (
    cube_words,
    disagreements,
    exact_distance,
    first_disagreement,
)
from defendability.circuits.random import random_circuit
from defendability.errors import ParameterError


@pytest.mark.parametrize("n", [1, 2, 5, 6, 7, 10])
def test_cube_words_are_the_packed_cube(n):
    points = cube(n)
    words = cube_words(n)
    packed = pack_bits(points)
    if n >= 6:
        np.testing.assert_array_equal(words, packed)
    else:  # one word: its low 2^n bits are the cube
        mask = (1 << (1 << n)) - 1
        assert [int(w) & mask for w in words[:, 0]] == [int(w) for w in packed[:, 0]]
    np.testing.assert_array_equal(cube_words(n, 1, 1).shape, (n, 0))


@pytest.mark.parametrize("n", [1, 3, 6, 8, 11])
def test_distance_is_the_brute_force_count(n):
    rng = np.random.default_rng(n)
    points = cube(n)
    for _ in range(3):
        c1 = random_circuit(n, 60, rng, n_outputs=2, constants=True)
        c2 = random_circuit(n, 60, rng, n_outputs=2, constants=True)
        differ = np.any(reference_outputs(c1, points) != reference_outputs(c2, points), axis=1)
        assert disagreements(c1, c2) == int(differ.sum())
        assert Fraction(exact_distance(c1, c2)) == Fraction(int(differ.sum()), 2 ** n)
        first = first_disagreement(c1, c2)
        if differ.any():
            np.testing.assert_array_equal(first, points[np.argmax(differ)])
        else:
            assert first is None
    assert exact_distance(c1, c1) == 0.0 and first_disagreement(c1, c1) is None


def test_distance_in_small_blocks_across_the_whole_cube(monkeypatch):
    from defendability.circuits import distance

    rng = np.random.default_rng(3)
    c1, c2 = random_circuit(12, 80, rng), random_circuit(12, 80, rng)
    whole = disagreements(c1, c2)
    monkeypatch.setattr(distance, "BLOCK_WORDS", 7)  # 64 words in blocks of 7, the last partial
    assert disagreements(c1, c2) == whole
    points = cube(12)
    assert whole == int(np.count_nonzero(reference_outputs(c1, points) != reference_outputs(c2, points)))


def test_a_single_point_apart_at_n_20():
    """x0 AND ... AND x19 differs from the constant 0 at the all-ones point only: the last
    of the 2^20 inputs, in the last block."""
    n = 20
    ops, a, b = [0], [0], [1]
    for i in range(2, n):
        ops.append(0), a.append(n + 2 + len(ops) - 2), b.append(i)
    conj = Circuit(n, ops, a, b, [0] * len(ops), [n + 2 + len(ops) - 1])
    zero = Circuit(n, [], [], [], [], [n])
    assert disagreements(conj, zero) == 1
    assert exact_distance(conj, zero) == 2.0 ** -20
    np.testing.assert_array_equal(first_disagreement(conj, zero), np.ones(n, np.uint8))


def test_errors_name_the_problem():
    rng = np.random.default_rng(4)
    with pytest.raises(ParameterError, match="n_inputs=25"):
        exact_distance(random_circuit(25, 5, rng), random_circuit(25, 5, rng))
    with pytest.raises(ParameterError, match="n_inputs=4 and n_inputs=5"):
        exact_distance(random_circuit(4, 5, rng), random_circuit(5, 5, rng))
    with pytest.raises(ParameterError, match="n_outputs=1 and n_outputs=2"):
        exact_distance(random_circuit(4, 5, rng), random_circuit(4, 5, rng, n_outputs=2))
