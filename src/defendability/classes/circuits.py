"""Boolean circuits over {0,1}^n as a function class (THEORY.md §5.2).

A member is a netlist (:class:`~defendability.circuits.Circuit`) with one output; its
representation is the whole netlist, so a white-box defender can read every gate and
every wire's value (:meth:`CircuitFunction.wire_values`). This is the class of the
computational results of CHLX (THEORY.md §3): punctured-PRF backdoors are circuits.
"""

from __future__ import annotations

import math

import numpy as np

from ..circuits.distance import MAX_EXACT_N
from ..circuits.distance import exact_distance as circuit_distance
from ..circuits.netlist import MUX, Circuit, CircuitBuilder, netlist_error
from ..circuits.random import random_circuit
from ..errors import ParameterError, check
from ..registry import register
from ..spaces import Distribution
from .base import (
    CubeDomain,
    Function,
    FunctionClass,
    exact_member,
    is_array,
    shadows_behaviour,
    unwrap,
)
from .parities import as_bit_rows

#: Largest n of the class.
MAX_N = 4096

#: Gates of a random member per input bit (``random_member`` draws min(max_gates, 8 n)).
RANDOM_GATES_PER_INPUT = 8


class CircuitFunction(Function):
    """x -> output 0 of ``circuit`` on {0,1}^n.

    Representation: ``circuit``, a :class:`~defendability.circuits.Circuit` (read-only
    arrays; the class's ``contains`` checks them again, its ``rebuild`` copies them).
    A batch ``(m, n)`` of 0/1 rows gives ``(m,)`` uint8. Equality compares netlists
    gate by gate, so two different netlists of the same function are different
    representations (as for every class, equality is of representations).
    """

    def __init__(self, circuit: Circuit):
        if not isinstance(circuit, Circuit):
            raise ParameterError(f"a circuit function needs a Circuit, got {type(circuit).__name__}")
        self.circuit = circuit

    @property
    def n(self) -> int:
        return self.circuit.n_inputs

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = as_bit_rows(x, self.n)
        return self.circuit.evaluate(x)[:, 0]

    def wire_values(self, x: np.ndarray) -> np.ndarray:
        """Every wire's value on a batch ``x`` ``(m, n)``: ``(m, n_wires)`` uint8 (wire
        numbering of :class:`~defendability.circuits.Circuit`)."""
        return self.circuit.wire_values(as_bit_rows(x, self.n))

    def key(self) -> tuple:
        return ("CircuitFunction",) + self.circuit.key()

    def __repr__(self) -> str:
        c = self.circuit
        return f"CircuitFunction(n={c.n_inputs}, gates={c.n_gates}, outputs={c.n_outputs})"


def lookup_circuit(n: int, k: int, table: np.ndarray) -> Circuit:
    """The circuit x -> ``table[x_0 + 2 x_1 + ... + 2^(k-1) x_(k-1)]`` on n >= k inputs:
    a complete tree of ``2^k - 1`` MUX gates, leaves the constant wires, level l selecting
    on input l (inputs k..n-1 are ignored). ``table``: ``(2^k,)`` of 0/1.

    Built as arrays, level by level: gate wires are assigned in order, so level l's
    gates read level l - 1's (or the constants at the leaves) and the gate list is a
    topological order. The size does not depend on the table (no pruning), so the
    netlist's size says nothing about the labelling it realises.
    """
    table = np.asarray(table).reshape(-1)
    if k < 1 or len(table) != 1 << k or k > n:
        raise ParameterError(f"lookup circuit: need 1 <= k <= n and a table of 2^k entries, got k={k}, n={n}, "
                             f"{len(table)} entries")
    nodes = n + (table != 0).astype(np.int64)  # the constant wire of each leaf
    ops, a, b, c = [], [], [], []
    next_wire = n + 2
    for level in range(k):
        half = len(nodes) // 2
        # node j of this level selects between its children 2j (bit = 0) and 2j + 1
        a.append(np.full(half, level, dtype=np.int64))
        b.append(nodes[1::2])
        c.append(nodes[0::2])
        ops.append(np.full(half, MUX, dtype=np.uint8))
        nodes = next_wire + np.arange(half, dtype=np.int64)
        next_wire += half
    return Circuit(n, np.concatenate(ops), np.concatenate(a), np.concatenate(b), np.concatenate(c), nodes)


def dnf_circuit(n: int, points: np.ndarray) -> Circuit:
    """x -> [x is one of ``points``] (``(p, n)`` 0/1 rows, p >= 0): the OR of one
    n-literal conjunction per point (n - 1 ANDs, a NOT per 0 bit, p - 1 ORs). With no
    point it is the constant 0 (one AND of the constants)."""
    bld = CircuitBuilder(n)
    nots: dict[int, int] = {}
    terms = []
    for p in np.asarray(points, dtype=np.uint8):
        lits = [i if p[i] else nots.setdefault(i, bld.not_(i)) for i in range(n)]
        term = lits[0]
        for w in lits[1:]:
            term = bld.and_(term, w)
        terms.append(term)
    if not terms:
        return bld.build([bld.and_(bld.const(0), bld.const(0))])
    out = terms[0]
    for t in terms[1:]:
        out = bld.or_(out, t)
    return bld.build([out])


@register("classes", "circuits")
class Circuits(CubeDomain, FunctionClass):
    """Circuits with at most max_gates AND/XOR/OR/NOT/MUX gates over {0,1}^n, one output.

    Points are 0/1 rows of length n (``point_shape == (n,)``, uint8); a member is a
    :class:`CircuitFunction`. Default distribution: uniform on {0,1}^n.

    Shattered set and ``vc_dimension`` (a lower bound): the d = 2^k points whose first
    k bits run through every code (bits k..n-1 are 0), for the largest k <= n with
    2^k - 1 <= max_gates; a labelling is realised by the lookup tree of 2^k - 1 MUX
    gates on the first k bits (:func:`lookup_circuit`). So ``vc_dimension`` reports
    d = min(2^n, 2^floor(log2(max_gates + 1))), a lower bound on the class's true VC
    dimension, which is larger: every function of k bits has a circuit of about 2^k / k
    gates (Lupanov), and the counting bound, :attr:`vc_upper_bound`, is of order
    max_gates log2(n + max_gates). The shattering attackers and the bounds of THEORY.md
    §2 use this d.

    ``random_member``: a random netlist (:func:`~defendability.circuits.random.random_circuit`)
    of min(max_gates, 8 n) gates, ops uniform over the five, operands uniform over the
    earlier non-constant wires, output the last gate. ``exact_distance`` under the
    uniform cube by enumerating the cube bit-sliced when n <= 24 (``None`` above, so the
    referee estimates it). ``cheapest_flip``: f XOR [x = x*], the least distance of any
    flip under every distribution (about 1.5 n extra gates; ``None`` past max_gates).
    """

    test_spec = "circuits:n=8"

    def __init__(self, n: int = 32, max_gates: int = 100_000):
        check(1 <= n <= MAX_N, f"circuits: n must be in [1, {MAX_N}], got n={n}")
        check(max_gates >= 1, f"circuits: max_gates must be >= 1, got max_gates={max_gates}")
        self.n, self.max_gates = int(n), int(max_gates)

    @property
    def shatter_bits(self) -> int:
        """k: the shattered set is the 2^k codes of the first k bits."""
        return min(self.n, (self.max_gates + 1).bit_length() - 1)

    @property
    def vc_dimension(self) -> int:
        """A lower bound: the size 2^k of the shattered set (see the class doc)."""
        return 1 << self.shatter_bits

    @property
    def vc_upper_bound(self) -> int:
        """The counting bound floor(log2 |F|) on the VC dimension, over netlists of at most
        s = max_gates gates: each gate has one of 5 ops and at most 3 operands among fewer
        than n + 2 + s wires, and the output is one of n + 2 + s wires, so
        |F| <= (n + 2 + s) * (5 (n + 2 + s)^3)^s."""
        wires = self.n + 2 + self.max_gates
        # in floating point: the exact integer has millions of bits at the default size
        return math.floor(math.log2(wires) + self.max_gates * (math.log2(5) + 3 * math.log2(wires)))

    def shattered_set(self) -> np.ndarray:
        k = self.shatter_bits
        codes = np.arange(1 << k, dtype=np.int64)
        points = np.zeros((1 << k, self.n), dtype=np.uint8)
        points[:, :k] = (codes[:, None] >> np.arange(k)) & 1
        return points

    def realise(self, points: np.ndarray, labels: np.ndarray) -> CircuitFunction:
        """Points of the shattered set: the lookup tree of :func:`lookup_circuit` on the
        first k bits, table = the labels at the given points and 0 elsewhere (always
        2^k - 1 gates). Other points: the DNF of the positive points (:func:`dnf_circuit`)
        when it fits in max_gates. ``ParameterError`` for a point given two labels or a
        DNF that does not fit."""
        points = as_bit_rows(points, self.n)
        labels = np.asarray(labels).reshape(-1)
        check(len(points) == len(labels), "circuits: realise needs one label per point")
        labels = (labels != 0).astype(np.uint8)
        distinct, inverse = np.unique(points, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        first = np.zeros(len(distinct), dtype=np.uint8)
        first[inverse] = labels
        if not np.array_equal(first[inverse], labels):
            raise ParameterError("circuits: realise got a point labelled both 0 and 1")
        k = self.shatter_bits
        if not np.any(points[:, k:]):
            table = np.zeros(1 << k, dtype=np.uint8)
            table[(points[:, :k].astype(np.int64) << np.arange(k)).sum(axis=1)] = labels
            return CircuitFunction(lookup_circuit(self.n, k, table))
        positives = distinct[first == 1]
        zeros = int(np.count_nonzero(positives == 0, axis=0).clip(max=1).sum())
        gates = max(1, len(positives) * (self.n - 1) + zeros + max(0, len(positives) - 1))
        check(gates <= self.max_gates, f"circuits: the DNF realising these labels needs {gates} gates, "
                                       f"more than max_gates={self.max_gates}")
        return CircuitFunction(dnf_circuit(self.n, positives))

    def contains(self, f: Function) -> bool:
        """A :class:`CircuitFunction` exactly (no subclass; a ``Counted`` view is
        unwrapped) whose ``circuit`` is a :class:`Circuit` exactly, with this class's
        n inputs, one output and at most max_gates gates.

        The netlist is checked again here, as it stands: its arrays plain, read-only
        numpy arrays of the netlist dtypes (uint8 ops, int64 wires) forming a valid netlist
        (:func:`~defendability.circuits.netlist.netlist_error`; a write flag can be turned
        back on and the arrays edited after construction), and no instance attribute of
        the circuit hiding one of its methods (``circuit.evaluate = ...``). The cached
        evaluation plan and levels are not checked (nothing cheap could tell a plan made
        for another netlist): :meth:`rebuild` discards them, so the referee's member
        computes what its netlist says.
        """
        f = exact_member(f, CircuitFunction)
        c = None if f is None else vars(f).get("circuit")
        if type(c) is not Circuit or _hides_behaviour(c):
            return False
        n = c.n_inputs
        if not (isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n == self.n):
            return False
        gates = len(c.ops) if type(c.ops) is np.ndarray else -1
        arrays = (c.ops, c.a, c.b, c.c, c.outputs)
        if not (is_array(c.ops, (gates,), np.uint8) and all(is_array(w, (gates,), np.int64) for w in (c.a, c.b, c.c))
                and is_array(c.outputs, (1,), np.int64) and not any(w.flags.writeable for w in arrays)):
            return False
        return gates <= self.max_gates and netlist_error(self.n, *arrays) is None

    def rebuild(self, f: Function) -> CircuitFunction:
        """``CircuitFunction(Circuit(n, ...))`` from copies of ``f``'s checked netlist
        arrays (the constructor copies them), with no cached plan: the member the referee
        evaluates and hands to the defender computes what the netlist says."""
        c = unwrap(f).circuit
        return CircuitFunction(Circuit(self.n, c.ops, c.a, c.b, c.c, c.outputs))

    def random_member(self, rng: np.random.Generator) -> CircuitFunction:
        gates = min(self.max_gates, RANDOM_GATES_PER_INPUT * self.n)
        return CircuitFunction(random_circuit(self.n, gates, rng))

    def exact_distance_points(self, dist: Distribution) -> int:
        """2^n where :meth:`exact_distance` enumerates the cube, else 0."""
        return 1 << self.n if self._is_cube(dist) and self.n <= MAX_EXACT_N else 0

    def exact_distance(self, f: Function, g: Function, dist: Distribution) -> float | None:
        """Under the uniform cube with n <= 24: the disagreements of the two circuits
        counted over all 2^n inputs, bit-sliced (:mod:`defendability.circuits.distance`).
        ``None`` for other distributions, larger n, or non-circuit functions."""
        if not self._is_cube(dist) or self.n > MAX_EXACT_N:
            return None
        f, g = unwrap(f), unwrap(g)
        if not (isinstance(f, CircuitFunction) and isinstance(g, CircuitFunction)):
            return None
        return circuit_distance(_first_output(f.circuit), _first_output(g.circuit))

    def cheapest_flip(self, f: Function, x: np.ndarray, dist: Distribution) -> CircuitFunction | None:
        """f XOR [input == x]: f's netlist followed by an n-literal equality test of x
        (n - 1 ANDs, a NOT per 0 bit of x) and one XOR into a new output. It differs from
        f at x alone, so its distance Pr_dist[{x}] is the least of any member that flips
        x, under every distribution. ``None`` when f is not a circuit member of this
        class or the result would exceed max_gates."""
        f = unwrap(f)
        if not self.contains(f):
            return None
        x = as_bit_rows(np.asarray(x).reshape(1, -1), self.n)[0]
        c = f.circuit
        extra = (self.n - 1) + int(np.count_nonzero(x == 0)) + 1
        if c.n_gates + extra > self.max_gates:
            return None
        # the new gates' wires continue f's numbering, so f's gates keep their wires
        bld = CircuitBuilder.from_circuit(c)
        lits = [i if x[i] else bld.not_(i) for i in range(self.n)]
        hit = lits[0]
        for w in lits[1:]:
            hit = bld.and_(hit, w)
        return CircuitFunction(bld.build([bld.xor(int(c.outputs[0]), hit)]))


def _hides_behaviour(c: Circuit) -> bool:
    """Whether an instance attribute of ``c`` hides a method or property of
    :class:`Circuit` (:func:`~defendability.classes.base.shadows_behaviour`), the cached
    plan and levels aside: ``cached_property`` keeps them in the instance, and
    :meth:`Circuits.rebuild` discards them."""
    probe = object.__new__(Circuit)  # the same attributes, caches left out
    probe.__dict__.update((k, v) for k, v in vars(c).items() if k not in Circuit._CACHED)
    return shadows_behaviour(probe)


def _first_output(c: Circuit) -> Circuit:
    """``c`` with output 0 only (a member's label is its first output)."""
    if c.n_outputs == 1:
        return c
    return Circuit(c.n_inputs, c.ops, c.a, c.b, c.c, c.outputs[:1])
