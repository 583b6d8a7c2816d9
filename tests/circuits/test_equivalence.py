"""Equivalence checks: exhaustive and SAT, equal and unequal pairs, counterexamples."""

from __future__ import annotations

import builtins
from importlib.util import find_spec

import numpy as np
import pytest
from circuit_reference import reference_outputs

from defendability.circuits import AND, MUX, NOT, OR, XOR, Circuit, CircuitBuilder
from defendability.circuits.equivalence import check_equivalence, equivalent, miter_cnf
from defendability.circuits.random import random_circuit
from defendability.errors import ParameterError

needs_sat = pytest.mark.skipif(find_spec("pysat") is None, reason="the SAT path needs the optional extra 'sat'")


def demorgan(c: Circuit) -> Circuit:
    """The same function, rebuilt with different gates: AND by NOT(OR(NOT, NOT)), OR by
    NOT(AND(NOT, NOT)), XOR by (a OR b) AND NOT(a AND b), MUX by (s AND b) OR (NOT s AND c),
    NOT by XOR with the constant 1."""
    n = c.n_inputs
    bld = CircuitBuilder(n)
    new = list(range(n + 2))
    for op, a, b, s in zip(c.ops.tolist(), c.a.tolist(), c.b.tolist(), c.c.tolist()):
        x, y, z = new[a], new[b], new[s]
        if op == AND:
            w = bld.not_(bld.or_(bld.not_(x), bld.not_(y)))
        elif op == OR:
            w = bld.not_(bld.and_(bld.not_(x), bld.not_(y)))
        elif op == XOR:
            w = bld.and_(bld.or_(x, y), bld.not_(bld.and_(x, y)))
        elif op == NOT:
            w = bld.xor(x, bld.const(1))
        else:
            assert op == MUX
            w = bld.or_(bld.and_(x, y), bld.and_(bld.not_(x), z))
        new.append(w)
    return bld.build([new[w] for w in c.outputs.tolist()])


def point_flip(c: Circuit, x: np.ndarray) -> Circuit:
    """c with output 0 flipped at the point x alone."""
    bld = CircuitBuilder.from_circuit(c)
    hit = None
    for i, bit in enumerate(x.tolist()):
        lit = i if bit else bld.not_(i)
        hit = lit if hit is None else bld.and_(hit, lit)
    outs = c.outputs.tolist()
    return bld.build([bld.xor(outs[0], hit)] + outs[1:])


@pytest.mark.parametrize("method", ["exhaustive", pytest.param("sat", marks=needs_sat)])
def test_rewritten_circuits_are_equivalent(method):
    rng = np.random.default_rng(0)
    for _ in range(4):
        c = random_circuit(10, 80, rng, n_outputs=2, constants=True)
        verdict = check_equivalence(c, demorgan(c), method=method)
        assert verdict.equal and verdict.counterexample is None and verdict.method == method


@pytest.mark.parametrize("method", ["exhaustive", pytest.param("sat", marks=needs_sat)])
def test_unequal_circuits_get_a_true_counterexample(method):
    rng = np.random.default_rng(1)
    for _ in range(6):
        c1 = random_circuit(9, 50, rng, n_outputs=2)
        c2 = random_circuit(9, 50, rng, n_outputs=2)
        verdict = check_equivalence(c1, c2, method=method)
        x = verdict.counterexample
        assert not verdict.equal and not bool(verdict)
        assert x.shape == (9,) and x.dtype == np.uint8
        assert np.any(reference_outputs(c1, x[None]) != reference_outputs(c2, x[None]))


@needs_sat
@pytest.mark.parametrize("n", [40, 64])
def test_sat_on_wide_inputs_equal_and_unequal(n):
    rng = np.random.default_rng(n)
    c = random_circuit(n, 300, rng, n_outputs=2, constants=True)
    assert check_equivalence(c, demorgan(c)).method == "sat"  # auto picks SAT above n = 20
    assert equivalent(c, demorgan(c))
    # differing on a single one of the 2^n inputs: SAT must find exactly that input
    x_star = rng.integers(0, 2, n, dtype=np.uint8)
    verdict = check_equivalence(demorgan(c), point_flip(c, x_star))
    assert not verdict.equal
    np.testing.assert_array_equal(verdict.counterexample, x_star)
    # and another pair of random circuits, different almost everywhere
    other = random_circuit(n, 300, rng, n_outputs=2)
    verdict = check_equivalence(c, other)
    assert not verdict.equal
    x = verdict.counterexample
    assert np.any(reference_outputs(c, x[None]) != reference_outputs(other, x[None]))


def test_miter_cnf_shares_the_inputs():
    c = random_circuit(5, 20, np.random.default_rng(2))
    clauses, variables = miter_cnf(c, c)
    assert all(0 < abs(lit) <= variables for clause in clauses for lit in clause)
    assert [-6] in clauses  # the constant-0 variable, right after the 5 inputs


def test_missing_python_sat_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_pysat(name, *args, **kwargs):
        if name.startswith("pysat"):
            raise ImportError("No module named 'pysat'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pysat)
    rng = np.random.default_rng(3)
    c = random_circuit(30, 10, rng)
    with pytest.raises(ImportError, match=r"pip install 'defendability\[sat\]'"):
        equivalent(c, c)
    small = random_circuit(8, 30, rng, constants=True)
    assert equivalent(small, demorgan(small))  # the exhaustive path needs no extra
    assert not equivalent(small, point_flip(small, np.zeros(8, np.uint8)))


def test_bad_method_and_shapes():
    rng = np.random.default_rng(4)
    c = random_circuit(4, 10, rng)
    with pytest.raises(ParameterError, match="method='bdd'"):
        check_equivalence(c, c, method="bdd")
    with pytest.raises(ParameterError, match="n_inputs=25"):
        check_equivalence(random_circuit(25, 3, rng), random_circuit(25, 3, rng), method="exhaustive")
    with pytest.raises(ParameterError, match="n_inputs"):
        check_equivalence(c, random_circuit(5, 10, rng))
