"""Heuristic stand-ins for obfuscation: function-preserving netlist transformations.

No usable indistinguishability obfuscator exists (THEORY.md §5.3), and nothing here is
one. These are heuristic stand-ins, each with a known way through it, offered so that
the library can *measure* how much each one blunts a white-box defender such as
``rare-wire`` (what each hides and does not hide: ``docs/obfuscation-stand-ins.md``):

- ``rerandomise``: random local rewrites that keep the function (Boolean identities,
  De Morgan, double negation, ``y ^ r ^ r`` with r an existing wire, re-association, MUX
  expansion), emitted in a random topological order, so every wire is renumbered.
- ``pad``: dead logic, random gates over existing wires that no output depends on,
  interleaved through the netlist up to a given size.
- ``mask``: first-order Boolean masking (Ishai, Sahai, Wagner 2003): every wire is
  carried as two shares whose XOR is its value, with mask bits computed from the inputs
  (a netlist has no randomness of its own); unmasked only at the outputs.

Compilation to a threshold network, the fourth stand-in, is
:func:`defendability.circuits.threshold.compile_threshold`.

Every stand-in returns a new :class:`~defendability.circuits.Circuit` with the same
inputs and outputs, computing the same function.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import ParameterError
from .netlist import AND, ARITY, MUX, NOT, OR, XOR, Circuit, CircuitBuilder

#: The stand-ins :func:`apply_standin` knows (``compile_threshold`` is separate: it
#: returns a threshold network, not a netlist).
STANDINS = ("rerandomise", "pad", "mask")

#: Fraction of gates ``rerandomise`` rewrites (the others are only renumbered and moved).
REWRITE_FRACTION = 0.75

#: Fraction of eligible gates (an AND, XOR or OR reading a gate of the same op that
#: nothing else reads) that ``rerandomise`` re-associates.
REASSOCIATE_FRACTION = 0.25

#: Input bits each mask bit of ``mask`` reads: three in a parity, two in an AND.
MASK_ARITY = 5


def apply_standin(name: str, circuit: Circuit, rng: np.random.Generator, *, size: int | None = None) -> Circuit:
    """Apply the heuristic stand-in ``name`` (one of :data:`STANDINS`) to ``circuit``.

    ``size``: for ``pad`` only, the gate count to pad to (required; at least the
    circuit's own). The result computes the same function as ``circuit`` on every
    input and uses randomness from ``rng`` only, so it is reproducible from its seed.
    """
    if name not in STANDINS:
        raise ParameterError(f"unknown stand-in {name!r}; valid: {', '.join(STANDINS)}")
    if not isinstance(circuit, Circuit):
        raise ParameterError(f"stand-in {name!r} needs a Circuit, got {type(circuit).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise ParameterError(f"stand-in {name!r} needs a numpy Generator, got {type(rng).__name__}")
    if name == "pad":
        if size is None:
            raise ParameterError("stand-in 'pad' needs size= (the gate count to pad to)")
        return pad(circuit, size, rng)
    if size is not None:
        raise ParameterError(f"stand-in {name!r} takes no size (only 'pad' does)")
    return rerandomise(circuit, rng) if name == "rerandomise" else mask(circuit, rng)


# -- rerandomise -----------------------------------------------------------------------
def _fanout(circuit: Circuit) -> np.ndarray:
    """Readers of every wire: gate operands (by arity) and outputs, ``(n_wires,)``."""
    arity = np.asarray(ARITY)[circuit.ops] if circuit.n_gates else np.zeros(0, dtype=int)
    reads = [circuit.a, circuit.b[arity > 1], circuit.c[arity > 2], circuit.outputs]
    return np.bincount(np.concatenate(reads), minlength=circuit.n_wires)


def random_topological_order(circuit: Circuit, rng: np.random.Generator) -> list[int]:
    """The gates in a random order that still reads every wire after it is driven
    (Kahn's algorithm taking a uniformly random ready gate at each step)."""
    n, g_count = circuit.n_inputs, circuit.n_gates
    arity = np.asarray(ARITY)[circuit.ops].tolist() if g_count else []
    operands = (circuit.a.tolist(), circuit.b.tolist(), circuit.c.tolist())
    waiting = [0] * g_count
    readers: list[list[int]] = [[] for _ in range(g_count)]
    for g in range(g_count):
        for k in range(arity[g]):
            w = operands[k][g] - n - 2
            if w >= 0:
                waiting[g] += 1
                readers[w].append(g)
    ready = [g for g in range(g_count) if waiting[g] == 0]
    picks = rng.random(g_count).tolist()
    order = []
    for pick in picks:
        i = int(pick * len(ready))
        ready[i], ready[-1] = ready[-1], ready[i]
        g = ready.pop()
        order.append(g)
        for reader in readers[g]:
            waiting[reader] -= 1
            if waiting[reader] == 0:
                ready.append(reader)
    return order


# Each rewrite builds a gate's function from its operands' new wires; r is a random
# existing wire (for the y ^ r ^ r identities). All are identities of Boolean algebra.
_Rewrite = Callable[[CircuitBuilder, int, int, int, int], int]


def _mask_with(bld: CircuitBuilder, y: int, r: int) -> int:
    return bld.xor(bld.xor(y, r), r)  # y ^ r ^ r = y


_REWRITES: dict[int, tuple[_Rewrite, ...]] = {
    AND: (
        lambda B, a, b, c, r: B.and_(b, a),
        lambda B, a, b, c, r: B.not_(B.or_(B.not_(a), B.not_(b))),  # De Morgan
        lambda B, a, b, c, r: B.mux(a, b, B.const(0)),
        lambda B, a, b, c, r: B.xor(B.or_(a, b), B.xor(a, b)),
        lambda B, a, b, c, r: _mask_with(B, B.and_(a, b), r),
        lambda B, a, b, c, r: B.not_(B.not_(B.and_(a, b))),
    ),
    XOR: (
        lambda B, a, b, c, r: B.xor(b, a),
        lambda B, a, b, c, r: B.xor(B.xor(a, r), B.xor(b, r)),
        lambda B, a, b, c, r: B.or_(B.and_(a, B.not_(b)), B.and_(B.not_(a), b)),
        lambda B, a, b, c, r: B.not_(B.xor(B.not_(a), b)),
        lambda B, a, b, c, r: B.xor(B.or_(a, b), B.and_(a, b)),
        lambda B, a, b, c, r: B.mux(a, B.not_(b), b),
    ),
    OR: (
        lambda B, a, b, c, r: B.or_(b, a),
        lambda B, a, b, c, r: B.not_(B.and_(B.not_(a), B.not_(b))),  # De Morgan
        lambda B, a, b, c, r: B.xor(B.xor(a, b), B.and_(a, b)),
        lambda B, a, b, c, r: B.mux(a, B.const(1), b),
        lambda B, a, b, c, r: _mask_with(B, B.or_(a, b), r),
    ),
    NOT: (
        lambda B, a, b, c, r: B.xor(a, B.const(1)),
        lambda B, a, b, c, r: B.not_(B.not_(B.not_(a))),
        lambda B, a, b, c, r: B.xor(B.xor(a, r), B.not_(r)),  # a ^ r ^ ~r = ~a
        lambda B, a, b, c, r: B.mux(a, B.const(0), B.const(1)),
    ),
    MUX: (  # b if a else c
        lambda B, a, b, c, r: B.or_(B.and_(a, b), B.and_(B.not_(a), c)),
        lambda B, a, b, c, r: B.xor(c, B.and_(a, B.xor(b, c))),
        lambda B, a, b, c, r: B.mux(B.not_(a), c, b),
        lambda B, a, b, c, r: _mask_with(B, B.mux(a, b, c), r),
    ),
}


def rerandomise(circuit: Circuit, rng: np.random.Generator) -> Circuit:
    """Random function-preserving rewrites of a large fraction of the gates.

    Gates are emitted in a random topological order (:func:`random_topological_order`),
    which renumbers every wire. Each gate is, with probability
    :data:`REWRITE_FRACTION`, replaced by one of its rewrites (:data:`_REWRITES`, one
    drawn uniformly: operand swap, De Morgan, MUX form, XOR/OR/AND identities, double
    negation, ``y ^ r ^ r`` with r a random earlier non-constant wire, MUX expansion),
    else copied. Beforehand, a fraction :data:`REASSOCIATE_FRACTION` of the AND/XOR/OR
    gates that read a gate u of the same op that nothing else reads (and that is no
    output) are re-associated: ``op(op(x, y), z)`` becomes ``op(p, op(q, r))`` for a
    random permutation (p, q, r) of (x, y, z), and u disappears.
    """
    n, g_count = circuit.n_inputs, circuit.n_gates
    ops, a, b, c = circuit.ops.tolist(), circuit.a.tolist(), circuit.b.tolist(), circuit.c.tolist()
    fanout = _fanout(circuit)
    absorbed = [False] * g_count
    triple: dict[int, tuple[int, int, int]] = {}  # re-associated gate -> its three operand wires
    for g, draw in zip(range(g_count), rng.random(g_count).tolist()):
        if ops[g] not in (AND, XOR, OR) or absorbed[g] or draw >= REASSOCIATE_FRACTION:
            continue
        for inner, other in ((a[g], b[g]), (b[g], a[g])):
            u = inner - n - 2
            if u >= 0 and ops[u] == ops[g] and fanout[inner] == 1 and not absorbed[u] and u not in triple:
                absorbed[u] = True
                triple[g] = (a[u], b[u], other)
                break
    order = random_topological_order(circuit, rng)
    rewrite_draws = rng.random((g_count, 3)).tolist()
    bld = CircuitBuilder(n)
    new = list(range(n + 2)) + [-1] * g_count  # old wire -> new wire
    for g in order:
        if absorbed[g]:
            continue
        rewrite, which, pick_r = rewrite_draws[g]
        # r: a uniformly random non-constant wire that exists already
        r = int(pick_r * (bld.n_wires - 2))
        r = r if r < n else r + 2
        op = ops[g]
        if g in triple:
            x, y, z = (new[w] for w in triple[g])
            # op is associative and commutative: any of the three may stay outside
            p, q, s = ((x, y, z), (y, z, x), (z, x, y))[int(which * 3)]
            out = bld.gate(op, p, bld.gate(op, q, s))
        elif rewrite < REWRITE_FRACTION:
            options = _REWRITES[op]
            out = options[int(which * len(options))](bld, new[a[g]], new[b[g]], new[c[g]], r)
        else:
            arity = ARITY[op]
            out = bld.gate(op, new[a[g]], new[b[g]] if arity > 1 else 0, new[c[g]] if arity > 2 else 0)
        new[n + 2 + g] = out
    return bld.build([new[w] for w in circuit.outputs.tolist()])


# -- pad -------------------------------------------------------------------------------
def pad(circuit: Circuit, size: int, rng: np.random.Generator) -> Circuit:
    """``circuit`` with dead gates added until it has exactly ``size`` gates.

    The ``size - n_gates`` dead gates take random slots among the ``size`` gate
    positions (the original gates keep their relative order in the others), draw their
    ops from the circuit's own op frequencies (uniform for a circuit without gates) and
    their operands uniformly from the non-constant wires before them, dead ones
    included. No output depends on them: a reachability analysis from the outputs
    removes them all.
    """
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool):
        raise ParameterError(f"pad: size must be an integer, got {size!r}")
    g_count, n = circuit.n_gates, circuit.n_inputs
    if size < g_count:
        raise ParameterError(f"pad: size={size} is smaller than the circuit's {g_count} gates")
    size = int(size)
    extra = size - g_count
    dead = np.zeros(size, dtype=bool)
    dead[rng.choice(size, extra, replace=False)] = True
    live_slot = np.flatnonzero(~dead)  # slot of original gate g
    new_wire = np.concatenate([np.arange(n + 2), n + 2 + live_slot])  # old wire -> new wire
    freq = np.bincount(circuit.ops, minlength=len(ARITY)).astype(float)
    freq = freq / freq.sum() if g_count else np.full(len(ARITY), 1.0 / len(ARITY))
    ops = np.empty(size, dtype=np.uint8)
    a, b, c = (np.zeros(size, dtype=np.int64) for _ in range(3))
    arity = np.asarray(ARITY)[circuit.ops] if g_count else np.zeros(0, dtype=int)
    ops[live_slot] = circuit.ops
    a[live_slot] = new_wire[circuit.a]
    b[live_slot] = np.where(arity > 1, new_wire[circuit.b], 0)
    c[live_slot] = np.where(arity > 2, new_wire[circuit.c], 0)
    dead_slot = np.flatnonzero(dead)
    dead_ops = rng.choice(len(ARITY), extra, p=freq).astype(np.uint8)
    # operand k: one of the n + slot non-constant wires before the slot
    draws = np.floor(rng.random((3, extra)) * (n + dead_slot)[None, :]).astype(np.int64)
    wires = np.where(draws < n, draws, draws + 2)
    dead_arity = np.asarray(ARITY)[dead_ops]
    ops[dead_slot] = dead_ops
    a[dead_slot] = wires[0]
    b[dead_slot] = np.where(dead_arity > 1, wires[1], 0)
    c[dead_slot] = np.where(dead_arity > 2, wires[2], 0)
    return Circuit(n, ops, a, b, c, new_wire[circuit.outputs])


# -- mask ------------------------------------------------------------------------------
class _Masker:
    """Builds the masked netlist: shares of every wire, mask bits from the inputs."""

    def __init__(self, n: int, rng: np.random.Generator):
        self.bld = CircuitBuilder(n)
        self.n, self.rng = n, rng
        self.const_shares: dict[int, tuple[int, int]] = {}

    def mask_bit(self) -> int:
        """A fresh mask bit: x_p ^ x_q ^ x_s ^ (x_t & x_u) on five distinct random inputs
        (Goldreich's predicate; fewer inputs when n < 5: a parity of n - 2 of them and an
        AND of two, or a parity alone for n <= 2). The parity part makes it exactly
        uniform under the uniform input distribution; the AND makes masks nonlinear."""
        bld, n = self.bld, self.n
        k = min(n, MASK_ARITY)
        picked = self.rng.choice(n, k, replace=False).tolist()
        linear = max(1, k - 2)
        out = picked[0]
        for i in picked[1:linear]:
            out = bld.xor(out, i)
        if k >= 3:
            out = bld.xor(out, bld.and_(picked[linear], picked[linear + 1]))
        return out

    def constant(self, bit: int) -> tuple[int, int]:
        if bit not in self.const_shares:
            m = self.mask_bit()
            self.const_shares[bit] = (self.bld.not_(m) if bit else m, m)
        return self.const_shares[bit]

    def xor(self, x: tuple[int, int], y: tuple[int, int]) -> tuple[int, int]:
        return self.bld.xor(x[0], y[0]), self.bld.xor(x[1], y[1])

    def not_(self, x: tuple[int, int]) -> tuple[int, int]:
        return self.bld.not_(x[0]), x[1]

    def and_(self, x: tuple[int, int], y: tuple[int, int]) -> tuple[int, int]:
        """The two-share ISW multiplication: c0 = x0 y0 ^ r, c1 = ((r ^ x0 y1) ^ x1 y0)
        ^ x1 y1, with r a fresh mask bit; the bracketing keeps r in every partial sum."""
        bld = self.bld
        r = self.mask_bit()
        c0 = bld.xor(bld.and_(x[0], y[0]), r)
        t = bld.xor(r, bld.and_(x[0], y[1]))
        t = bld.xor(t, bld.and_(x[1], y[0]))
        c1 = bld.xor(t, bld.and_(x[1], y[1]))
        return c0, c1


def mask(circuit: Circuit, rng: np.random.Generator) -> Circuit:
    """First-order Boolean masking of ``circuit`` with two shares (ISW).

    Input i becomes the shares (x_i ^ m_i, m_i); a constant b becomes (m ^ b, m); XOR
    and NOT act share-wise (NOT on share 0); AND is the ISW gadget (:meth:`_Masker.and_`);
    OR is lowered to NOT(AND(NOT a, NOT b)) and MUX(s, t, e) to e ^ AND(s, t ^ e). Each
    output is unmasked by one XOR of its shares. Mask bits are deterministic functions
    of the inputs (:meth:`_Masker.mask_bit`), one per input, constant and AND, each on
    its own random five inputs: a netlist has no fresh randomness, so this masking is
    heuristic (see ``docs/obfuscation-stand-ins.md`` for what it does and does not give).
    """
    n = circuit.n_inputs
    m = _Masker(n, rng)
    bld = m.bld
    shares: list[tuple[int, int]] = []
    for i in range(n):
        mi = m.mask_bit()
        shares.append((bld.xor(i, mi), mi))
    shares += [(-1, -1), (-1, -1)]  # the constants: shared when first read
    ops, a, b, c = circuit.ops.tolist(), circuit.a.tolist(), circuit.b.tolist(), circuit.c.tolist()

    def read(w: int) -> tuple[int, int]:
        return m.constant(w - n) if w in (n, n + 1) else shares[w]

    for g in range(circuit.n_gates):
        op = ops[g]
        if op == XOR:
            out = m.xor(read(a[g]), read(b[g]))
        elif op == NOT:
            out = m.not_(read(a[g]))
        elif op == AND:
            out = m.and_(read(a[g]), read(b[g]))
        elif op == OR:
            out = m.not_(m.and_(m.not_(read(a[g])), m.not_(read(b[g]))))
        else:  # MUX: c ^ (a & (b ^ c))
            else_ = read(c[g])
            out = m.xor(else_, m.and_(read(a[g]), m.xor(read(b[g]), else_)))
        shares.append(out)
    outputs = [bld.xor(*read(w)) for w in circuit.outputs.tolist()]
    return bld.build(outputs)
