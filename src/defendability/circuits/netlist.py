"""Boolean circuits as netlists: gates in topological order, evaluated bit-sliced.

Wire numbering (THEORY.md §5.2): wires ``0 .. n_inputs - 1`` are the inputs, wire
``n_inputs`` is the constant 0 and ``n_inputs + 1`` the constant 1 (:attr:`Circuit.const0`,
:attr:`Circuit.const1`), and gate ``g`` drives wire ``n_inputs + 2 + g``. A gate reads only
wires below its own, so the gate list is a topological order. Operations:

====== ===== ================================
op     code  output
====== ===== ================================
AND    0     a & b
XOR    1     a ^ b
OR     2     a | b
NOT    3     ~a (``b``, ``c`` ignored, set to 0)
MUX    4     b if a else c  (``a`` selects)
====== ===== ================================

Evaluation is bit-sliced: a batch of inputs is packed 64 to a ``uint64`` word, and a gate
is one bitwise operation over the batch's ``ceil(batch / 64)`` words. To keep the Python
overhead per gate small, a plan is made once per circuit (:class:`_Plan`, cached): gates
are grouped by depth and op, and since the gates of one depth read only shallower wires,
a group runs as a handful of numpy calls over all its gates at once (gather the operand
rows with ``np.take``, one ufunc over the group). Groups of one or two gates run gate by
gate on precomputed row views. Wires live in scratch rows that are recycled once their
last reader has run (liveness), and the batch is evaluated in blocks of words sized so
that the live rows take about :data:`SCRATCH_BYTES` (2 MiB, cache-sized): a million
inputs never allocate a row per wire per input, and deep, narrow circuits get wide
blocks. ``all_wires=True`` keeps a row per wire instead.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import ParameterError

AND, XOR, OR, NOT, MUX = 0, 1, 2, 3, 4
OP_NAMES = ("AND", "XOR", "OR", "NOT", "MUX")
ARITY = (2, 2, 2, 1, 3)
_ALL_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)


def pack_bits(x: np.ndarray) -> np.ndarray:
    """Pack a batch of bit vectors, ``(size, n)`` of 0/1, into ``(n, ceil(size/64))``
    ``uint64`` words: bit ``j % 64`` of word ``j // 64`` of row ``i`` is ``x[j, i]``."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ParameterError(f"expected a batch of shape (size, n), got shape {x.shape}")
    size, n = x.shape
    words = -(-size // 64)
    padded = np.zeros((words * 64, n), dtype=np.uint8)
    padded[:size] = x != 0
    # little-endian bit order within each byte, then 8 bytes per word (little-endian)
    packed = np.packbits(padded.T.reshape(n, words, 64), axis=2, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").reshape(n, words).astype(np.uint64, copy=False)


def unpack_bits(words: np.ndarray, size: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: ``(m, W)`` words to ``(size, m)`` ``uint8`` bits."""
    words = np.ascontiguousarray(words, dtype="<u8")
    m, w = words.shape
    bits = np.unpackbits(words.view(np.uint8).reshape(m, w * 8), axis=1, bitorder="little")
    return np.ascontiguousarray(bits[:, :size].T)


def netlist_error(n: int, ops: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray,
                  outputs: np.ndarray) -> str | None:
    """Why these arrays are not a netlist on ``n`` inputs, or ``None``.

    ``ops`` ``(G,)`` uint8, ``a``, ``b``, ``c`` ``(G,)`` and ``outputs`` ``(m,)`` int64:
    one entry per gate in each of ``ops``, ``a``, ``b``, ``c``; known ops; every operand
    a gate uses below its own wire (topological order); at least one output, each an
    existing wire. The one check behind :class:`Circuit`'s constructor and the circuits
    class's membership (arrays can be edited after construction).
    """
    g = len(ops)
    if not (len(a) == len(b) == len(c) == g):
        return "ops, a, b and c must have one entry per gate"
    if g and int(ops.max()) > MUX:
        return f"unknown gate op {int(ops.max())} (ops are 0..{MUX}: {', '.join(OP_NAMES)})"
    own = n + 2 + np.arange(g)
    arity = np.asarray(ARITY)[ops] if g else np.zeros(0, dtype=int)
    for k, w in enumerate((a, b, c)):
        bad = arity > k
        bad &= (w < 0) | (w >= own)
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            return (f"gate {i} ({OP_NAMES[ops[i]]}) reads wire {int(w[i])}, not below its own wire {int(own[i])}: "
                    "gates must be in topological order")
    if len(outputs) == 0:
        return "a circuit needs at least one output wire"
    if np.any((outputs < 0) | (outputs >= n + 2 + g)):
        return f"output wires must be in [0, {n + 2 + g}), got {outputs.tolist()}"
    return None


@dataclass(frozen=True, eq=False)
class Circuit:
    """A netlist with ``n_inputs`` inputs, gates ``(ops[g], a[g], b[g], c[g])`` and the
    output wires ``outputs``. Arrays are validated and made read-only on construction."""

    n_inputs: int
    ops: np.ndarray  # (G,) uint8
    a: np.ndarray  # (G,) int64 wire indices
    b: np.ndarray
    c: np.ndarray
    outputs: np.ndarray  # (m,) int64 wire indices

    def __post_init__(self) -> None:
        n = self.n_inputs
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ParameterError(f"a circuit needs n_inputs >= 1, got {n!r}")
        cols = {}
        for name in ("ops", "a", "b", "c", "outputs"):
            arr = np.array(getattr(self, name), dtype=np.uint8 if name == "ops" else np.int64).reshape(-1)
            arr.setflags(write=False)
            cols[name] = arr
            object.__setattr__(self, name, arr)
        error = netlist_error(int(n), cols["ops"], cols["a"], cols["b"], cols["c"], cols["outputs"])
        if error is not None:
            raise ParameterError(error)

    #: Attributes computed from the netlist and cached on first use (not pickled).
    _CACHED = ("levels", "_plan", "_plan_all_wires")

    def __getstate__(self) -> dict:
        # the plan is rebuilt where the circuit is used: pickles (to worker processes)
        # carry the netlist only
        return {k: v for k, v in self.__dict__.items() if k not in self._CACHED}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        for name in ("ops", "a", "b", "c", "outputs"):
            getattr(self, name).setflags(write=False)  # unpickled arrays come back writable

    # -- shape -------------------------------------------------------------------------
    @property
    def n_gates(self) -> int:
        return len(self.ops)

    @property
    def n_wires(self) -> int:
        return self.n_inputs + 2 + self.n_gates

    @property
    def n_outputs(self) -> int:
        return len(self.outputs)

    @property
    def const0(self) -> int:
        return self.n_inputs

    @property
    def const1(self) -> int:
        return self.n_inputs + 1

    def key(self) -> tuple:
        """A hashable canonical form (equal netlists, equal keys)."""
        return (self.n_inputs,) + tuple(arr.tobytes() for arr in (self.ops, self.a, self.b, self.c, self.outputs))

    # -- evaluation --------------------------------------------------------------------
    @cached_property
    def levels(self) -> np.ndarray:
        """Depth of every wire, ``(n_wires,)`` int64: 0 for inputs and constants, and
        1 + the deepest operand for a gate. ``levels.max()`` is the circuit's depth."""
        n = self.n_inputs
        depth = [0] * self.n_wires
        arity = [ARITY[op] for op in self.ops.tolist()]
        for g, (k, a, b, c) in enumerate(zip(arity, self.a.tolist(), self.b.tolist(), self.c.tolist())):
            d = depth[a]
            if k > 1 and depth[b] > d:
                d = depth[b]
            if k > 2 and depth[c] > d:
                d = depth[c]
            depth[n + 2 + g] = d + 1
        out = np.asarray(depth, dtype=np.int64)
        out.setflags(write=False)
        return out

    @cached_property
    def _plan(self) -> _Plan:
        return _Plan.of(self, reuse=True)

    @cached_property
    def _plan_all_wires(self) -> _Plan:
        return _Plan.of(self, reuse=False)

    def evaluate_packed(self, words: np.ndarray, all_wires: bool = False) -> np.ndarray:
        """Bit-sliced evaluation: ``words`` ``(n_inputs, W)`` uint64 (see :func:`pack_bits`)
        to the outputs ``(n_outputs, W)``, or every wire ``(n_wires, W)`` with ``all_wires``
        (in wire order; bits past the batch in the last word are unspecified)."""
        words = np.asarray(words, dtype=np.uint64)
        if words.ndim != 2 or words.shape[0] != self.n_inputs:
            raise ParameterError(f"expected packed inputs of shape ({self.n_inputs}, W), got {words.shape}")
        return (self._plan_all_wires if all_wires else self._plan).run(words, all_wires)

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """Outputs of a batch ``x`` ``(size, n_inputs)`` of 0/1 as ``(size, n_outputs)`` uint8."""
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ParameterError(f"expected inputs of shape (size, {self.n_inputs}), got {x.shape}")
        return unpack_bits(self.evaluate_packed(pack_bits(x)), len(x))

    def wire_values(self, x: np.ndarray) -> np.ndarray:
        """Every wire's value on a batch ``x``: ``(size, n_wires)`` uint8 (white-box view)."""
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ParameterError(f"expected inputs of shape (size, {self.n_inputs}), got {x.shape}")
        return unpack_bits(self.evaluate_packed(pack_bits(x), all_wires=True), len(x))


class CircuitBuilder:
    """Appends gates in topological order and returns wire indices.

    >>> bld = CircuitBuilder(2)
    >>> out = bld.xor(bld.input(0), bld.input(1))
    >>> bld.build([out]).evaluate(np.array([[0, 1], [1, 1]]))[:, 0].tolist()
    [1, 0]
    """

    def __init__(self, n_inputs: int):
        if not isinstance(n_inputs, int) or n_inputs < 1:
            raise ParameterError(f"a circuit needs n_inputs >= 1, got {n_inputs!r}")
        self.n_inputs = n_inputs
        self._ops: list[int] = []
        self._a: list[int] = []
        self._b: list[int] = []
        self._c: list[int] = []

    @classmethod
    def from_circuit(cls, circuit: Circuit) -> CircuitBuilder:
        """A builder holding ``circuit``'s gates, wire for wire, to append more gates to
        (its outputs are not kept: pass the new ones to :meth:`build`)."""
        bld = cls(int(circuit.n_inputs))
        bld._ops, bld._a = circuit.ops.tolist(), circuit.a.tolist()
        bld._b, bld._c = circuit.b.tolist(), circuit.c.tolist()
        return bld

    @property
    def n_wires(self) -> int:
        return self.n_inputs + 2 + len(self._ops)

    def input(self, i: int) -> int:
        if not 0 <= i < self.n_inputs:
            raise ParameterError(f"input {i} out of range [0, {self.n_inputs})")
        return i

    def const(self, bit: int) -> int:
        return self.n_inputs + (1 if bit else 0)

    def gate(self, op: int, a: int, b: int = 0, c: int = 0) -> int:
        """Append one gate; returns its output wire."""
        top = self.n_wires
        for w in (a, b, c)[:ARITY[op]]:
            if not 0 <= w < top:
                raise ParameterError(f"{OP_NAMES[op]} reads wire {w}, which does not exist yet (wires 0..{top - 1})")
        self._ops.append(op)
        self._a.append(a)
        self._b.append(b if ARITY[op] > 1 else 0)
        self._c.append(c if ARITY[op] > 2 else 0)
        return top

    def and_(self, a: int, b: int) -> int:
        return self.gate(AND, a, b)

    def xor(self, a: int, b: int) -> int:
        return self.gate(XOR, a, b)

    def or_(self, a: int, b: int) -> int:
        return self.gate(OR, a, b)

    def not_(self, a: int) -> int:
        return self.gate(NOT, a)

    def mux(self, sel: int, if1: int, if0: int) -> int:
        """``if1`` where ``sel`` is 1, else ``if0``."""
        return self.gate(MUX, sel, if1, if0)

    def build(self, outputs: list[int]) -> Circuit:
        return Circuit(self.n_inputs, self._ops, self._a, self._b, self._c, outputs)


#: Bytes of scratch per evaluation block: the batch is cut into blocks of words so that
#: the rows live at once and the group temporaries take about this much (a core's L2
#: cache: measured against 0.25 to 8 MiB in benchmarks/bench_circuits.py's settings).
SCRATCH_BYTES = 2 << 20

#: Fewest words per block, whatever the circuit's size (bounds the Python overhead
#: per gate evaluation on very large circuits, at the cost of more scratch memory).
MIN_BLOCK_WORDS = 16

#: Groups of at most this many gates run gate by gate (cheaper than a gather).
SMALL_GROUP = 2

_UFUNCS = {AND: np.bitwise_and, XOR: np.bitwise_xor, OR: np.bitwise_or}


def _rows(rows: np.ndarray) -> np.ndarray | slice:
    """A slice when ``rows`` is a run of consecutive rows (read as a view, no gather)."""
    if len(rows) and int(rows[-1]) - int(rows[0]) == len(rows) - 1 and bool(np.all(np.diff(rows) == 1)):
        return slice(int(rows[0]), int(rows[-1]) + 1)
    return rows


class _Plan:
    """How a circuit is evaluated: gates in groups, wires assigned to scratch rows.

    Gates are sorted by (depth, op); a run of equal (depth, op) is a group, evaluated as
    one step (gates of one depth read only shallower wires). Rows ``0..n+1`` hold the
    inputs and constants; every gate's wire gets a row when its step runs. With
    ``reuse``, a row is recycled once the last step reading its wire has run (liveness),
    so deep, narrow circuits need few rows and the batch can be cut into wide blocks;
    output wires keep their rows to the end. Without it (``all_wires``) every wire has
    its own row. A group's outputs go to a contiguous run of rows when one is at hand
    (written in place), else to scattered rows (computed in a temporary, then scattered).

    ``steps`` holds ``(True, op, dest, k, ra, rb, rc)`` for a group (``dest`` and the
    operands ``ra``, ``rb``, ``rc`` are slices when consecutive, else row arrays) and
    ``(False, op, out, a, b, c)`` for a gate run alone.
    """

    def __init__(self, n: int, n_rows: int, wire_rows: np.ndarray, out_rows: np.ndarray,
                 steps: list[tuple], widest: int):
        self.n, self.n_rows = n, n_rows
        self.wire_rows, self.out_rows = wire_rows, out_rows
        self.steps, self.widest = steps, widest

    @classmethod
    def of(cls, circuit: Circuit, reuse: bool) -> _Plan:
        n, g = circuit.n_inputs, circuit.n_gates
        depth = circuit.levels[n + 2:]
        order = np.lexsort((circuit.ops, depth))  # by depth, then op (stable)
        ops = circuit.ops[order]
        arity = np.asarray(ARITY)[ops] if g else np.zeros(0, dtype=np.int64)
        operands = [w[order] for w in (circuit.a, circuit.b, circuit.c)]
        key = depth[order] * 8 + ops
        bounds = np.concatenate([[0], np.flatnonzero(np.diff(key)) + 1, [g]]).astype(np.int64)
        # a group of SMALL_GROUP gates or fewer is split into steps of one gate
        sizes = np.diff(bounds)
        small = np.repeat(sizes <= SMALL_GROUP, sizes)
        starts = np.zeros(g, dtype=bool)
        starts[bounds[:-1][bounds[:-1] < g]] = True
        starts |= small
        step_of = np.cumsum(starts) - 1  # the step of each (sorted) gate
        n_steps = int(step_of[-1]) + 1 if g else 0
        # last_use[w]: the last step reading wire w (-1: never read; outputs: never freed)
        last_use = np.full(circuit.n_wires, -1, dtype=np.int64)
        for k, w in enumerate(operands):
            used = arity > k
            np.maximum.at(last_use, w[used], step_of[used])
        last_use[circuit.outputs] = n_steps
        last_use[: n + 2] = n_steps  # input and constant rows are filled per block
        wire_rows = np.arange(circuit.n_wires, dtype=np.int64)
        gate_wires = n + 2 + order
        step_starts = np.flatnonzero(starts).tolist() + [g]
        top = n + 2
        if reuse:
            dying: list[list[int]] = [[] for _ in range(n_steps)]
            own_step = np.full(circuit.n_wires, -1, dtype=np.int64)
            own_step[gate_wires] = step_of
            # a wire never read dies in the step that writes it
            death = np.where(last_use >= 0, last_use, own_step)
            for w in np.flatnonzero((death >= 0) & (death < n_steps)).tolist():
                dying[int(death[w])].append(w)
            free: list[int] = []
            for s in range(n_steps):
                lo, hi = step_starts[s], step_starts[s + 1]
                k = hi - lo
                if len(free) >= k:
                    rows = [heapq.heappop(free) for _ in range(k)]
                else:
                    rows = list(range(top, top + k))
                    top += k
                wire_rows[gate_wires[lo:hi]] = rows
                for w in dying[s]:
                    heapq.heappush(free, int(wire_rows[w]))
        else:
            wire_rows[gate_wires] = n + 2 + np.arange(g, dtype=np.int64)
            top = circuit.n_wires
        rows_of = [wire_rows[w] for w in operands]
        steps: list[tuple] = []
        widest = 1
        for s in range(n_steps):
            lo, hi = step_starts[s], step_starts[s + 1]
            op = int(ops[lo])
            if hi - lo == 1 and small[lo]:
                steps.append((False, op, int(wire_rows[gate_wires[lo]]),
                              int(rows_of[0][lo]), int(rows_of[1][lo]), int(rows_of[2][lo])))
                continue
            widest = max(widest, hi - lo)
            dest = _rows(wire_rows[gate_wires[lo:hi]])
            ra, rb, rc = (_rows(r[lo:hi]) for r in rows_of)
            steps.append((True, op, dest, hi - lo, ra, rb, rc))
        wire_rows.setflags(write=False)
        return cls(n, top, wire_rows, wire_rows[circuit.outputs], steps, widest)

    def block_words(self, total: int) -> int:
        """Words per evaluation block for a batch of ``total`` words."""
        # the scratch rows and the group temporaries (up to 4 x the widest group)
        per_row = max(MIN_BLOCK_WORDS, SCRATCH_BYTES // (8 * (self.n_rows + 4 * self.widest)))
        return max(1, min(total, per_row))

    def run(self, words: np.ndarray, all_wires: bool) -> np.ndarray:
        n, total = self.n, words.shape[1]
        pick = self.wire_rows if all_wires else self.out_rows
        out = np.empty((len(pick), total), dtype=np.uint64)
        if total == 0:
            return out
        width = self.block_words(total)
        scratch = np.empty((self.n_rows, width), dtype=np.uint64)
        temps = np.empty((4, self.widest, width), dtype=np.uint64)
        scratch[n] = 0
        scratch[n + 1] = _ALL_ONES
        views = list(scratch) if any(not s[0] for s in self.steps) else []
        spare = temps[0, 0]  # a free row for a MUX run alone
        for start in range(0, total, width):
            stop = min(total, start + width)
            scratch[:n, : stop - start] = words[:, start:stop]
            if stop - start < width:
                scratch[:n, stop - start:] = 0  # the last, partial block: pad with zeros
            self._gates(scratch, temps, views, spare)
            out[:, start:stop] = scratch[pick, : stop - start]
        return out

    def _gates(self, rows: np.ndarray, temps: np.ndarray, views: list, spare: np.ndarray) -> None:
        def gather(sel, k, t):
            if isinstance(sel, slice):
                return rows[sel]
            return np.take(rows, sel, axis=0, out=temps[t, :k], mode="clip")

        for step in self.steps:
            if step[0]:
                _, op, dest, k, ra, rb, rc = step
                target = rows[dest] if isinstance(dest, slice) else temps[3, :k]
                if op == NOT:
                    np.invert(gather(ra, k, 0), out=target)
                elif op == MUX:  # c ^ (a & (b ^ c))
                    other = gather(rc, k, 2)
                    np.bitwise_xor(gather(rb, k, 1), other, out=target)
                    np.bitwise_and(target, gather(ra, k, 0), out=target)
                    np.bitwise_xor(target, other, out=target)
                else:
                    _UFUNCS[op](gather(ra, k, 0), gather(rb, k, 1), out=target)
                if not isinstance(dest, slice):
                    rows[dest] = target
            else:
                _, op, o, a, b, c = step
                dest = views[o]
                if op == NOT:
                    np.invert(views[a], out=dest)
                elif op == MUX:
                    np.bitwise_xor(views[b], views[c], out=spare)
                    np.bitwise_and(spare, views[a], out=spare)
                    np.bitwise_xor(spare, views[c], out=dest)
                else:
                    _UFUNCS[op](views[a], views[b], out=dest)
