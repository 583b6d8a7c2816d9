"""The circuits class: the FunctionClass contract, its shattered set and lookup trees,
membership, exact distances against brute force, the cheapest flip."""

from __future__ import annotations

import math

import numpy as np
import pytest
from class_contract import (
    check_evaluates,
    check_realises_shattered_set,
    support_distance,
)

from defendability.attackers.base import Attacker
from defendability.circuits import CircuitBuilder
from defendability.circuits.netlist import Circuit
from defendability.circuits.random import random_circuit
from defendability.classes import Conjunctions, Counted, Parities, Subsets
from defendability.classes.circuits import (
    CircuitFunction,
    Circuits,
    dnf_circuit,
    lookup_circuit,
)
from defendability.errors import ParameterError
from defendability.game import Game
from defendability.registry import build, names, parameters, summary
from defendability.spaces import FiniteDistribution, UniformCube

SMALL = Circuits(n=7, max_gates=100)  # shattered set: 64 points, lookup tree of 63 MUX


def test_registered_with_documented_parameters():
    assert "circuits" in names("classes")
    cls = build("classes", "circuits")
    assert (cls.n, cls.max_gates) == (32, 100_000)
    assert summary(type(cls))
    for p in parameters(type(cls)):
        assert p.annotation in ("int", "float", "bool", "str") and p.default is not None, p
    small = build("classes", "circuits:n=5,max_gates=40")
    assert repr(small) == "circuits:n=5,max_gates=40"
    assert small.describe() == {"name": "circuits", "n": 5, "max_gates": 40}


@pytest.mark.parametrize("n, max_gates, d", [
    (7, 100, 64), (7, 63, 64), (7, 62, 32), (3, 100, 8), (1, 5, 2), (4, 1, 2), (4, 2, 2), (4, 3, 4),
    (32, 100_000, 65_536),
])
def test_vc_dimension_is_the_largest_lookup_tree_that_fits(n, max_gates, d):
    cls = Circuits(n=n, max_gates=max_gates)
    assert cls.vc_dimension == d
    # d - 1 MUX gates realise every labelling, and the next tree (2d - 1 gates) does not fit
    assert d - 1 <= max_gates and (d == 2 ** n or 2 * d - 1 > max_gates)
    assert d <= cls.vc_upper_bound
    T = cls.shattered_set()
    assert T.shape == (d, n) and T.dtype == np.uint8
    assert len(np.unique(T, axis=0)) == d


def test_counting_upper_bound():
    cls = Circuits(n=4, max_gates=2)
    wires = 4 + 2 + 2
    assert cls.vc_upper_bound == math.floor(math.log2(wires * (5 * wires ** 3) ** 2))


def test_realise_every_labelling_of_the_shattered_set():
    rng = np.random.default_rng(2)
    assert check_realises_shattered_set(Circuits(n=3, max_gates=10), rng) == 2 ** 8
    assert check_realises_shattered_set(SMALL, rng) == 66
    # the lookup tree has 2^k - 1 gates whatever the labels: size says nothing of them
    T = SMALL.shattered_set()
    sizes = {SMALL.realise(T, rng.integers(0, 2, len(T))).circuit.n_gates for _ in range(5)}
    assert sizes == {63}


def test_lookup_circuit_is_the_table_on_the_whole_cube():
    rng = np.random.default_rng(3)
    table = rng.integers(0, 2, 16)
    c = lookup_circuit(6, 4, table)
    points = UniformCube(6).support()[0]
    codes = (points[:, :4].astype(np.int64) << np.arange(4)).sum(axis=1)
    np.testing.assert_array_equal(c.evaluate(points)[:, 0], table[codes])
    with pytest.raises(ParameterError, match="k="):
        lookup_circuit(3, 4, np.zeros(16))


def test_realise_points_outside_the_shattered_set_by_a_dnf():
    rng = np.random.default_rng(4)
    points = rng.integers(0, 2, (6, 7), dtype=np.uint8)
    points[:, -1] = 1  # outside the shattered set (its last bit is 0)
    points = np.unique(points, axis=0)
    labels = (np.arange(len(points)) % 2).astype(np.uint8)
    f = Circuits(n=7, max_gates=1000).realise(points, labels)
    np.testing.assert_array_equal(f(points), labels)
    # the DNF accepts exactly its positive points
    cube = UniformCube(7).support()[0]
    accepted = {tuple(p) for p in cube[f(cube) == 1].tolist()}
    assert accepted == {tuple(p) for p in points[labels == 1].tolist()}
    with pytest.raises(ParameterError, match="max_gates=10"):
        Circuits(n=7, max_gates=10).realise(points, labels)
    with pytest.raises(ParameterError, match="both 0 and 1"):
        SMALL.realise(np.vstack([points[:1], points[:1]]), [0, 1])
    assert np.all(dnf_circuit(3, np.zeros((0, 3))).evaluate(UniformCube(3).support()[0]) == 0)


def test_members_evaluate_and_are_contained():
    rng = np.random.default_rng(5)
    for cls in (SMALL, Circuits(n=30, max_gates=50)):
        for _ in range(5):
            f = cls.random_member(rng)
            check_evaluates(cls, f, rng)
            assert cls.contains(f) and cls.contains(Counted(f)) and f.circuit.n_gates == min(cls.max_gates, 8 * cls.n)


def test_contains_checks_the_representation():
    rng = np.random.default_rng(6)
    f = SMALL.random_member(rng)
    assert not SMALL.contains(Circuits(n=8, max_gates=100).random_member(rng))  # other n
    assert not SMALL.contains(CircuitFunction(random_circuit(7, 101, rng)))  # too many gates
    assert not SMALL.contains(CircuitFunction(random_circuit(7, 10, rng, n_outputs=2)))  # two outputs

    class Tampered(CircuitFunction):
        def __call__(self, x):
            return 1 - super().__call__(x)

    assert not SMALL.contains(Tampered(f.circuit))
    for other in (Subsets(N=12, d=4), Parities(n=7), Conjunctions(n=7)):
        assert not SMALL.contains(other.random_member(rng))
    with pytest.raises(ParameterError, match="Circuit"):
        CircuitFunction("x0 & x1")


def test_equality_follows_the_netlist():
    rng = np.random.default_rng(7)
    T = SMALL.shattered_set()
    labels = rng.integers(0, 2, len(T))
    same, again = SMALL.realise(T, labels), SMALL.realise(T, labels)
    assert same == again and hash(same) == hash(again) and same.circuit is not again.circuit
    assert same != SMALL.realise(T, 1 - labels)


def test_wire_values_forward_to_the_circuit():
    bld = CircuitBuilder(2)
    out = bld.and_(bld.input(0), bld.not_(bld.input(1)))
    f = CircuitFunction(bld.build([out]))
    x = np.array([[0, 0], [1, 0], [1, 1]], dtype=np.uint8)
    # wires: x0, x1, const 0, const 1, NOT x1, x0 AND NOT x1
    np.testing.assert_array_equal(f.wire_values(x), [[0, 0, 0, 1, 1, 0], [1, 0, 0, 1, 1, 1], [1, 1, 0, 1, 0, 0]])
    np.testing.assert_array_equal(f(x), [0, 1, 0])


def test_exact_distance_is_the_sum_over_the_cube():
    rng = np.random.default_rng(8)
    for n in (1, 3, 6, 9):
        cls = Circuits(n=n, max_gates=60)
        cube = UniformCube(n)
        for _ in range(4):
            f, g = cls.random_member(rng), cls.random_member(rng)
            assert cls.exact_distance(Counted(f), g, cube) == support_distance(f, g, cube)
        assert cls.exact_distance(f, f, cube) == 0.0
    cls = Circuits(n=4, max_gates=60)
    f, g = cls.random_member(rng), cls.random_member(rng)
    assert cls.exact_distance(f, g, UniformCube(5)) is None
    skewed = FiniteDistribution(UniformCube(4).support()[0][:3], np.array([0.5, 0.25, 0.25]))
    assert cls.exact_distance(f, g, skewed) is None
    big = Circuits(n=25, max_gates=10)
    assert big.exact_distance(big.random_member(rng), big.random_member(rng), UniformCube(25)) is None


def test_cheapest_flip_differs_at_the_trigger_alone():
    rng = np.random.default_rng(9)
    cls = Circuits(n=6, max_gates=100)
    cube = UniformCube(6)
    points = cube.support()[0]
    for _ in range(4):
        f = cls.random_member(rng)
        x = points[rng.integers(len(points))]
        g = cls.cheapest_flip(Counted(f), x, cube)
        assert cls.contains(g)
        differ = np.flatnonzero(g(points) != f(points))
        assert differ.tolist() == [int((x.astype(np.int64) << np.arange(6)).sum())]
        assert cls.exact_distance(f, g, cube) == 2.0 ** -6
    # f has 48 gates; the flip needs 5 ANDs, a NOT per 0 bit and one XOR
    tight = Circuits(n=6, max_gates=48 + 5 + 1)
    f = tight.random_member(rng)
    assert tight.cheapest_flip(f, np.ones(6, np.uint8), cube) is not None
    assert tight.cheapest_flip(f, np.zeros(6, np.uint8), cube) is None
    assert cls.cheapest_flip(Parities(n=6).random_member(rng), x, cube) is None


@pytest.mark.parametrize("spec, fragment", [
    ("circuits:n=0", "n="), ("circuits:n=5000", "n="), ("circuits:max_gates=0", "max_gates="),
])
def test_bad_parameters_raise_a_named_parameter_error(spec, fragment):
    with pytest.raises(ParameterError) as err:
        build("classes", spec)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_point_flip_backdoors_pass_the_referee():
    """Every cheapest flip is a valid backdoor (a member, flips x*, within eps): the
    referee, which recomputes distances itself, invalidates none."""
    from defendability import play

    result = play("circuits:n=8,max_gates=300", "point-flip", "accept", eps=0.01, rounds=20, seed=0)
    assert result.invalid_rounds == 0 and result.valid_rounds == 20
    assert result.beta == 1.0  # accept never rejects, so every backdoor goes through


class _PoisonedPlan(Attacker):
    """Hands in f's own netlist with the cached evaluation plan of f's cheapest flip at
    x*: the representation says f, the cached plan computes the flip."""

    name = "poisoned-plan"

    def setup(self, cls, eps, rng):
        return UniformCube(cls.n), cls.random_member(rng)

    def backdoor(self, cls, dist, f, x_star, eps, rng):
        flip = cls.cheapest_flip(f, x_star, dist)
        c = f.circuit
        twin = Circuit(c.n_inputs, c.ops, c.a, c.b, c.c, c.outputs)
        object.__setattr__(twin, "_plan", flip.circuit._plan)
        return CircuitFunction(twin)


def test_a_cached_plan_from_another_netlist_is_discarded():
    cls = Circuits(n=12, max_gates=1000)
    rng = np.random.default_rng(21)
    dist, f = _PoisonedPlan().setup(cls, 0.01, rng)
    x = rng.integers(0, 2, size=12).astype(np.uint8)
    poisoned = _PoisonedPlan().backdoor(cls, dist, f, x, 0.01, rng)
    assert poisoned(x[None])[0] != f(x[None])[0]  # the object computes the flip
    rebuilt = cls.rebuild(poisoned)
    assert type(rebuilt) is CircuitFunction and rebuilt.circuit is not poisoned.circuit
    assert "_plan" not in vars(rebuilt.circuit) and rebuilt == f
    points = cls.shattered_set()
    np.testing.assert_array_equal(rebuilt(points), f(points))
    assert rebuilt(x[None])[0] == f(x[None])[0] and cls.exact_distance(f, rebuilt, dist) == 0.0
    # in the game the referee evaluates its rebuilt member: no flip, the round is invalid
    rounds = Game(cls, _PoisonedPlan(), "accept", 0.01).play_rounds(0, range(3))
    assert [r.status for r in rounds] == ["no_flip"] * 3


def test_netlist_arrays_edited_after_construction_are_checked_again():
    cls = Circuits(n=8, max_gates=200)
    rng = np.random.default_rng(22)
    x = rng.integers(0, 2, size=(64, 8)).astype(np.uint8)
    f = cls.random_member(rng)
    c = f.circuit
    before = f(x)  # caches the plan of the netlist as built
    last = int(c.ops[-1])
    c.ops.setflags(write=True)
    c.ops[-1] = (last + 1) % 5 if last != 2 else 0  # another binary or unary op on the same wires
    assert not cls.contains(f)  # a writable array is not a member's
    c.ops.setflags(write=False)
    assert cls.contains(f)  # read-only again: a valid netlist, but the cached plan is stale
    np.testing.assert_array_equal(f(x), before)
    edited = Circuit(8, c.ops, c.a, c.b, c.c, c.outputs)
    np.testing.assert_array_equal(cls.rebuild(f)(x), CircuitFunction(edited)(x))  # what the netlist says
    c.ops.setflags(write=True)
    c.ops[-1] = 7  # no such op
    c.ops.setflags(write=False)
    assert not cls.contains(f)
    g = cls.random_member(rng)
    g.circuit.a.setflags(write=True)
    g.circuit.a[-1] = g.circuit.n_wires  # reads a wire that does not exist yet
    g.circuit.a.setflags(write=False)
    assert not cls.contains(g)


@pytest.mark.parametrize("tamper", [
    lambda c: object.__setattr__(c, "evaluate", lambda x: np.zeros((len(x), 1), np.uint8)),
    lambda c: object.__setattr__(c, "evaluate_packed", lambda w, all_wires=False: w[:1]),
    lambda c: c.__dict__.__setitem__("n_gates", 1),  # an entry named like a property
    lambda c: object.__setattr__(c, "ops", c.ops.astype(np.int64)),
    lambda c: object.__setattr__(c, "outputs", c.outputs.astype(np.int32)),
    lambda c: object.__setattr__(c, "a", list(c.a)),
    lambda c: object.__setattr__(c, "n_inputs", 9),
])
def test_a_tampered_nested_circuit_is_not_a_member(tamper):
    cls = Circuits(n=8, max_gates=200)
    f = cls.random_member(np.random.default_rng(23))
    f(np.zeros((1, 8), np.uint8))  # a cached plan alone is no tampering
    assert cls.contains(f)
    tamper(f.circuit)
    assert not cls.contains(f) and not cls.contains(Counted(f))


def test_rebuild_copies_the_netlist():
    cls = Circuits(n=8, max_gates=200)
    f = cls.random_member(np.random.default_rng(24))
    g = cls.rebuild(Counted(f))
    assert type(g) is CircuitFunction and g == f and cls.contains(g)
    for name in ("ops", "a", "b", "c", "outputs"):
        assert not np.shares_memory(getattr(g.circuit, name), getattr(f.circuit, name))
