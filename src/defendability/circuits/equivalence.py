"""Equivalence of two circuits: do they compute the same function on every input?

Two methods, both exact:

- **exhaustive** (n <= :data:`EXHAUSTIVE_MAX_N`): every one of the 2^n inputs is
  evaluated bit-sliced (:mod:`.distance`); the counterexample is the first input, in
  enumeration order, where they differ;
- **SAT** (any n): the *miter* of the two circuits, their inputs shared and the OR of
  the XORs of their outputs asserted, is Tseitin-encoded to CNF and handed to a SAT
  solver of ``python-sat``. Unsatisfiable means equivalent; a model is a counterexample.
  ``python-sat`` is an optional extra (``pip install 'defendability[sat]'``), imported
  only when the SAT path runs.

The heuristic stand-ins of THEORY.md §5.3 (netlist re-randomisation) are checked with
these: a rewrite must keep the function, and "verified" means one of these said so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from .distance import MAX_EXACT_N, check_comparable, first_disagreement
from .netlist import AND, ARITY, NOT, OR, XOR, Circuit

#: Largest n checked by enumeration under ``method="auto"`` (2^20 inputs: well under a
#: second for circuits of thousands of gates); above, the SAT miter.
EXHAUSTIVE_MAX_N = 20

#: The SAT solver used by default (one of ``pysat.solvers.SolverNames``).
DEFAULT_SOLVER = "cadical153"

METHODS = ("auto", "exhaustive", "sat")


@dataclass(frozen=True)
class Equivalence:
    """The verdict: ``equal``, and where not, an input ``counterexample`` ``(n,)`` uint8
    on which some output differs; ``method`` says which check decided."""

    equal: bool
    counterexample: np.ndarray | None
    method: str

    def __bool__(self) -> bool:
        return self.equal


def check_equivalence(c1: Circuit, c2: Circuit, method: str = "auto", solver: str = DEFAULT_SOLVER) -> Equivalence:
    """Whether c1 and c2 agree on every input (every output), with a counterexample.

    ``method``: ``"exhaustive"`` (n <= 24), ``"sat"``, or ``"auto"`` (exhaustive up to
    n = 20, SAT above). ``ParameterError`` for circuits of different shapes or an
    unknown method; ``ImportError`` naming the extra when SAT is needed and missing.
    """
    check_comparable(c1, c2)
    if method not in METHODS:
        raise ParameterError(f"equivalence: method must be one of {', '.join(METHODS)}, got method={method!r}")
    if method == "auto":
        method = "exhaustive" if c1.n_inputs <= EXHAUSTIVE_MAX_N else "sat"
    if method == "exhaustive":
        if c1.n_inputs > MAX_EXACT_N:
            raise ParameterError(f"equivalence: exhaustive checks need n_inputs <= {MAX_EXACT_N}, "
                                 f"got n_inputs={c1.n_inputs}; use method='sat'")
        x = first_disagreement(c1, c2)
        return Equivalence(x is None, x, "exhaustive")
    x = sat_counterexample(c1, c2, solver)
    return Equivalence(x is None, x, "sat")


def equivalent(c1: Circuit, c2: Circuit, method: str = "auto") -> bool:
    """Whether c1 and c2 compute the same function (see :func:`check_equivalence`)."""
    return check_equivalence(c1, c2, method).equal


def _sat_solver_class():
    try:
        from pysat.solvers import Solver
    except ImportError as err:  # the optional extra is missing
        raise ImportError("SAT equivalence needs python-sat: pip install 'defendability[sat]'") from err
    return Solver


class _Encoder:
    """Tseitin encoding of netlists into CNF clauses over integer literals.

    Every wire maps to a literal: inputs to variables 1..n (shared by all circuits
    encoded), the constants to a variable forced false and its negation, NOT to the
    negated literal of its operand (no variable, no clause), and every other gate to
    a fresh variable constrained by the clauses of its op. Only the gates in the cone
    of the outputs are encoded.
    """

    def __init__(self, n: int):
        self.n = n
        self.false = n + 1
        self.top = n + 1
        self.clauses: list[list[int]] = [[-self.false]]

    def fresh(self) -> int:
        self.top += 1
        return self.top

    def encode(self, c: Circuit) -> list[int]:
        """Add c's clauses; returns the literals of its outputs."""
        n = c.n_inputs
        ops, a, b, cc = c.ops.tolist(), c.a.tolist(), c.b.tolist(), c.c.tolist()
        needed = bytearray(c.n_wires)
        for w in c.outputs.tolist():
            needed[w] = 1
        for g in range(len(ops) - 1, -1, -1):  # cone of influence, in reverse topological order
            if needed[n + 2 + g]:
                for w in (a[g], b[g], cc[g])[:ARITY[ops[g]]]:
                    needed[w] = 1
        lit = list(range(1, n + 1)) + [self.false, -self.false] + [0] * len(ops)
        add = self.clauses.append
        for g, op in enumerate(ops):
            if not needed[n + 2 + g]:
                continue
            x = lit[a[g]]
            if op == NOT:
                lit[n + 2 + g] = -x
                continue
            y = lit[b[g]]
            o = self.fresh()
            lit[n + 2 + g] = o
            if op == AND:
                add([-o, x]), add([-o, y]), add([o, -x, -y])
            elif op == OR:
                add([o, -x]), add([o, -y]), add([-o, x, y])
            elif op == XOR:
                add([-o, x, y]), add([-o, -x, -y]), add([o, -x, y]), add([o, x, -y])
            else:  # MUX: o = y if x else z
                z = lit[cc[g]]
                add([-x, -y, o]), add([-x, y, -o]), add([x, -z, o]), add([x, z, -o])
                add([-y, -z, o]), add([y, z, -o])  # redundant, helps propagation
        return [lit[w] for w in c.outputs.tolist()]

    def xor(self, x: int, y: int) -> int:
        o = self.fresh()
        self.clauses += [[-o, x, y], [-o, -x, -y], [o, -x, y], [o, x, -y]]
        return o


def miter_cnf(c1: Circuit, c2: Circuit) -> tuple[list[list[int]], int]:
    """The CNF of the miter of c1 and c2: satisfiable iff some input makes some output
    differ; variables 1..n are the inputs. Returns ``(clauses, n_variables)``."""
    check_comparable(c1, c2)
    enc = _Encoder(c1.n_inputs)
    outs1, outs2 = enc.encode(c1), enc.encode(c2)
    differ = [enc.xor(x, y) for x, y in zip(outs1, outs2)]
    enc.clauses.append(differ)  # some output differs
    return enc.clauses, enc.top


def sat_counterexample(c1: Circuit, c2: Circuit, solver: str = DEFAULT_SOLVER) -> np.ndarray | None:
    """An input ``(n,)`` uint8 on which c1 and c2 differ, found by a SAT solver on their
    miter, or ``None`` when the miter is unsatisfiable (the circuits are equivalent)."""
    Solver = _sat_solver_class()
    clauses, _ = miter_cnf(c1, c2)
    with Solver(name=solver, bootstrap_with=clauses) as s:
        if not s.solve():
            return None
        model = s.get_model()
    n = c1.n_inputs
    values = np.zeros(n, dtype=np.uint8)
    for v in model:
        if 0 < v <= n:
            values[v - 1] = 1
    return values
