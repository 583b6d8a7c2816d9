"""Bristol Fashion: the text format of the MPC circuit collections (SCALE-MAMBA, MP-SPDZ,
emp-toolkit), read and written.

A file is::

    <number of gates> <number of wires>
    <niv> <ni_1> ... <ni_niv>          input values and the wires of each
    <nov> <no_1> ... <no_nov>          output values and the wires of each

    <nin> <nout> <input wires> <output wires> <GATE>     one line per gate

Inputs are wires ``0 .. sum(ni) - 1`` (value 1's wires first), outputs the last
``sum(no)`` wires, and gates are in topological order. Gates read here: ``XOR``, ``AND``
(``2 1 a b out``), ``INV`` (``1 1 a out``; ``NOT`` accepted as a synonym), ``EQ``
(``1 1 bit out``: the wire is the constant ``bit``), ``EQW`` (``1 1 a out``: a copy of
wire a) and ``MAND`` (``2m m a_1..a_m b_1..b_m out_1..out_m``: m ANDs a_i & b_i).
``EQ`` and ``EQW`` add no gate: the wire becomes the constant (or the copied wire).

Input wire i is circuit input i and output wire j is circuit output j, whatever the
value boundaries (they are only kept for writing).

Writing uses XOR, AND and INV only (a "basic" file every tool reads):

- AND, XOR, NOT: one gate each (NOT as INV);
- OR(a, b) = (a AND b) XOR (a XOR b): 3 gates, 1 AND;
- MUX(s, b, c) = c XOR (s AND (b XOR c)): 3 gates, 1 AND;
- the constants: 0 = x_0 XOR x_0 and 1 = INV(0), made once, where used;
- an output wire that is an input, a constant or an output listed twice is copied
  (out = w XOR 0), since outputs must be distinct wires at the end of the numbering.

Every gate is written, used or not, so the file keeps the netlist's size (a lowered
OR or MUX counts three).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ParameterError
from .netlist import AND, NOT, OR, XOR, Circuit

_BINARY = {"XOR": XOR, "AND": AND}


def _ints(tokens: list[str], line_no: int) -> list[int]:
    try:
        values = [int(t) for t in tokens]
    except ValueError:
        raise ParameterError(f"bristol line {line_no}: expected integers, got {' '.join(tokens)!r}") from None
    if any(v < 0 for v in values):
        raise ParameterError(f"bristol line {line_no}: negative number in {' '.join(tokens)!r}")
    return values


def _lines(text: str) -> list[tuple[int, list[str]]]:
    """Non-blank lines as (line number, tokens)."""
    return [(k + 1, line.split()) for k, line in enumerate(text.splitlines()) if line.strip()]


def bristol_header(text: str) -> tuple[int, int, list[int], list[int]]:
    """``(gates, wires, input_sizes, output_sizes)`` from a file's three header lines."""
    lines = _lines(text)
    if len(lines) < 3:
        raise ParameterError("bristol: a file needs three header lines (gates and wires, inputs, outputs)")
    (l1, t1), (l2, t2), (l3, t3) = lines[:3]
    first = _ints(t1, l1)
    if len(first) != 2:
        raise ParameterError(f"bristol line {l1}: expected '<gates> <wires>', got {' '.join(t1)!r}")
    sizes = []
    for line_no, tokens in ((l2, t2), (l3, t3)):
        values = _ints(tokens, line_no)
        if not values or len(values) != values[0] + 1:
            raise ParameterError(f"bristol line {line_no}: expected a count then that many sizes, got {' '.join(tokens)!r}")
        sizes.append(values[1:])
    return first[0], first[1], sizes[0], sizes[1]


def from_bristol(text: str) -> Circuit:
    """The circuit of a Bristol Fashion file's text (see the module doc).

    ``ParameterError`` naming the line for a malformed header or gate, an unknown gate,
    a wire read before it is set or set twice, counts that disagree with the header, or
    an output wire never set.
    """
    n_gates, n_wires, in_sizes, out_sizes = bristol_header(text)
    n, m = sum(in_sizes), sum(out_sizes)
    if n < 1:
        raise ParameterError("bristol: the circuit has no input wire")
    if m < 1 or n + m > n_wires:
        raise ParameterError(f"bristol: {n} input and {m} output wires do not fit in {n_wires} wires")
    alias = np.full(n_wires, -1, dtype=np.int64)  # Bristol wire -> our wire
    alias[:n] = np.arange(n)
    ops: list[int] = []
    a: list[int] = []
    b: list[int] = []

    def read(w: int, line_no: int) -> int:
        if w >= n_wires or alias[w] < 0:
            raise ParameterError(f"bristol line {line_no}: wire {w} is read before it is set")
        return int(alias[w])

    def write(w: int, ours: int, line_no: int) -> None:
        if w >= n_wires:
            raise ParameterError(f"bristol line {line_no}: wire {w} is beyond the {n_wires} wires of the header")
        if alias[w] >= 0:
            raise ParameterError(f"bristol line {line_no}: wire {w} is set twice")
        alias[w] = ours

    def gate(op: int, x: int, y: int = 0) -> int:
        ops.append(op), a.append(x), b.append(y)
        return n + 2 + len(ops) - 1

    gate_lines = _lines(text)[3:]
    if len(gate_lines) != n_gates:
        raise ParameterError(f"bristol: the header announces {n_gates} gates, the file has {len(gate_lines)}")
    for line_no, tokens in gate_lines:
        name = tokens[-1].upper()
        nums = _ints(tokens[:-1], line_no)
        if len(nums) < 2 or len(nums) != 2 + nums[0] + nums[1]:
            raise ParameterError(f"bristol line {line_no}: expected '<nin> <nout> <wires> <GATE>', got {' '.join(tokens)!r}")
        nin, nout, wires = nums[0], nums[1], nums[2:]
        ins, outs = wires[:nin], wires[nin:]
        arity = {"XOR": (2, 1), "AND": (2, 1), "INV": (1, 1), "NOT": (1, 1), "EQ": (1, 1), "EQW": (1, 1)}
        if name == "MAND":
            if nin != 2 * nout or nout < 1:
                raise ParameterError(f"bristol line {line_no}: MAND takes 2m inputs and m outputs, got {nin} and {nout}")
            left = [read(w, line_no) for w in ins[:nout]]
            right = [read(w, line_no) for w in ins[nout:]]
            for x, y, w in zip(left, right, outs):
                write(w, gate(AND, x, y), line_no)
            continue
        if name not in arity:
            raise ParameterError(f"bristol line {line_no}: unknown gate {tokens[-1]!r} "
                                 f"(known: XOR, AND, INV, NOT, EQ, EQW, MAND)")
        if (nin, nout) != arity[name]:
            raise ParameterError(f"bristol line {line_no}: {name} takes {arity[name][0]} input and "
                                 f"{arity[name][1]} output wires, got {nin} and {nout}")
        if name == "EQ":
            if ins[0] > 1:
                raise ParameterError(f"bristol line {line_no}: EQ assigns the constant 0 or 1, got {ins[0]}")
            write(outs[0], n + ins[0], line_no)  # our constant wires are n (0) and n + 1 (1)
        elif name == "EQW":
            write(outs[0], read(ins[0], line_no), line_no)
        elif name in ("INV", "NOT"):
            write(outs[0], gate(NOT, read(ins[0], line_no)), line_no)
        else:
            x, y = read(ins[0], line_no), read(ins[1], line_no)
            write(outs[0], gate(_BINARY[name], x, y), line_no)
    out_wires = np.arange(n_wires - m, n_wires)
    unset = out_wires[alias[out_wires] < 0]
    if len(unset):
        raise ParameterError(f"bristol: output wire {int(unset[0])} is never set")
    zeros = [0] * len(ops)
    return Circuit(n, ops, a, b, zeros, alias[out_wires])


def to_bristol(circuit: Circuit, input_sizes: list[int] | None = None,
               output_sizes: list[int] | None = None) -> str:
    """The Bristol Fashion text of ``circuit``, lowered to XOR/AND/INV (module doc).

    ``input_sizes`` / ``output_sizes``: the wires of each input / output value (default
    one value holding all); they must add up to the circuit's inputs / outputs.
    """
    n, m = circuit.n_inputs, circuit.n_outputs
    input_sizes = [n] if input_sizes is None else [int(s) for s in input_sizes]
    output_sizes = [m] if output_sizes is None else [int(s) for s in output_sizes]
    if sum(input_sizes) != n or min(input_sizes) < 1:
        raise ParameterError(f"bristol: input_sizes {input_sizes} must be positive and add up to n_inputs={n}")
    if sum(output_sizes) != m or min(output_sizes) < 1:
        raise ParameterError(f"bristol: output_sizes {output_sizes} must be positive and add up to n_outputs={m}")
    # Wires are named while gates are emitted: ids 0..n-1 are the inputs, new internal
    # wires count up from n, and output j is named -(j + 1) until every internal wire
    # is known; then outputs are numbered after the internal wires.
    gates: list[tuple[str, tuple[int, ...], int]] = []
    counter = [n]

    def fresh() -> int:
        counter[0] += 1
        return counter[0] - 1

    def emit(name: str, ins: tuple[int, ...], out: int | None = None) -> int:
        out = fresh() if out is None else out
        gates.append((name, ins, out))
        return out

    consts: dict[int, int] = {}

    def const(bit: int) -> int:
        if 0 not in consts:
            consts[0] = emit("XOR", (0, 0))
        if bit and 1 not in consts:
            consts[1] = emit("INV", (consts[0],))
        return consts[bit]

    # an output that is a gate wire listed once is written by that gate directly
    outputs = circuit.outputs.tolist()
    first_gate_output: dict[int, int] = {}
    for j, w in enumerate(outputs):
        if w >= n + 2 and w not in first_gate_output:
            first_gate_output[w] = j
    name_of = list(range(n)) + [-1, -1] + [0] * circuit.n_gates

    def wire(w: int) -> int:
        return const(w - n) if n <= w < n + 2 else name_of[w]

    ops, a, b, c = circuit.ops.tolist(), circuit.a.tolist(), circuit.b.tolist(), circuit.c.tolist()
    for g, op in enumerate(ops):
        target = first_gate_output.get(n + 2 + g)
        out = None if target is None else -(target + 1)
        if op == AND or op == XOR:
            res = emit("AND" if op == AND else "XOR", (wire(a[g]), wire(b[g])), out)
        elif op == NOT:
            res = emit("INV", (wire(a[g]),), out)
        elif op == OR:  # a | b = (a & b) ^ (a ^ b)
            x, y = wire(a[g]), wire(b[g])
            res = emit("XOR", (emit("AND", (x, y)), emit("XOR", (x, y))), out)
        else:  # MUX (the last op): c ^ (a & (b ^ c))
            s, y, z = wire(a[g]), wire(b[g]), wire(c[g])
            res = emit("XOR", (z, emit("AND", (s, emit("XOR", (y, z))))), out)
        name_of[n + 2 + g] = res
    for j, w in enumerate(outputs):
        if first_gate_output.get(w) != j:  # an input, a constant, or a repeated output: copy it
            emit("XOR", (wire(w), const(0)), -(j + 1))
    internal = counter[0]

    def number(w: int) -> int:
        return internal + (-w - 1) if w < 0 else w

    lines = [f"{len(gates)} {internal + m}",
             " ".join(str(v) for v in [len(input_sizes), *input_sizes]),
             " ".join(str(v) for v in [len(output_sizes), *output_sizes]),
             ""]
    for name, ins, out in gates:
        wires = " ".join(str(number(w)) for w in (*ins, out))
        lines.append(f"{len(ins)} 1 {wires} {name}")
    return "\n".join(lines) + "\n"


def load_bristol(path: str | Path) -> Circuit:
    """:func:`from_bristol` of a file."""
    return from_bristol(Path(path).read_text())


def save_bristol(circuit: Circuit, path: str | Path, input_sizes: list[int] | None = None,
                 output_sizes: list[int] | None = None) -> None:
    """Write :func:`to_bristol` of ``circuit`` to a file."""
    Path(path).write_text(to_bristol(circuit, input_sizes, output_sizes))
