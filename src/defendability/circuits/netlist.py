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

Evaluation is bit-sliced: a batch of inputs is packed 64 to a ``uint64`` word, so each
gate is one vectorised numpy operation over ``ceil(batch / 64)`` words.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        g = len(cols["ops"])
        if not (len(cols["a"]) == len(cols["b"]) == len(cols["c"]) == g):
            raise ParameterError("ops, a, b and c must have one entry per gate")
        if g and int(cols["ops"].max()) > MUX:
            raise ParameterError(f"unknown gate op {int(cols['ops'].max())} (ops are 0..{MUX}: {', '.join(OP_NAMES)})")
        own = n + 2 + np.arange(g)
        arity = np.asarray(ARITY)[cols["ops"]] if g else np.zeros(0, dtype=int)
        for k, name in enumerate(("a", "b", "c")):
            used = arity > k
            w = cols[name]
            if np.any(used & ((w < 0) | (w >= own))):
                bad = int(np.flatnonzero(used & ((w < 0) | (w >= own)))[0])
                raise ParameterError(f"gate {bad} ({OP_NAMES[cols['ops'][bad]]}) reads wire {int(w[bad])}, "
                                     f"not below its own wire {int(own[bad])}: gates must be in topological order")
        if len(cols["outputs"]) == 0:
            raise ParameterError("a circuit needs at least one output wire")
        if np.any((cols["outputs"] < 0) | (cols["outputs"] >= n + 2 + g)):
            raise ParameterError(f"output wires must be in [0, {n + 2 + g}), got {cols['outputs'].tolist()}")

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
    def evaluate_packed(self, words: np.ndarray, all_wires: bool = False) -> np.ndarray:
        """Bit-sliced evaluation: ``words`` ``(n_inputs, W)`` uint64 (see :func:`pack_bits`)
        to the outputs ``(n_outputs, W)``, or every wire ``(n_wires, W)`` with ``all_wires``."""
        words = np.asarray(words, dtype=np.uint64)
        if words.ndim != 2 or words.shape[0] != self.n_inputs:
            raise ParameterError(f"expected packed inputs of shape ({self.n_inputs}, W), got {words.shape}")
        n, w = self.n_inputs, words.shape[1]
        wires = np.empty((self.n_wires, w), dtype=np.uint64)
        wires[:n] = words
        wires[n] = 0
        wires[n + 1] = _ALL_ONES
        ops, a, b, c = self.ops.tolist(), self.a.tolist(), self.b.tolist(), self.c.tolist()
        for g in range(len(ops)):
            out = wires[n + 2 + g]
            op = ops[g]
            if op == AND:
                np.bitwise_and(wires[a[g]], wires[b[g]], out=out)
            elif op == XOR:
                np.bitwise_xor(wires[a[g]], wires[b[g]], out=out)
            elif op == OR:
                np.bitwise_or(wires[a[g]], wires[b[g]], out=out)
            elif op == NOT:
                np.invert(wires[a[g]], out=out)
            else:  # MUX: c ^ (a & (b ^ c))
                np.bitwise_xor(wires[b[g]], wires[c[g]], out=out)
                np.bitwise_and(out, wires[a[g]], out=out)
                np.bitwise_xor(out, wires[c[g]], out=out)
        return wires if all_wires else wires[self.outputs]

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
