"""A straightforward per-input evaluator of netlists, the oracle of the circuit tests:
one input at a time, a Python list of wire values, gates in order."""

from __future__ import annotations

import numpy as np

from defendability.circuits import Circuit


def reference_wires(circuit: Circuit, x: np.ndarray) -> np.ndarray:
    """Every wire's value on each row of ``x`` ``(size, n)``: ``(size, n_wires)`` uint8."""
    ops, a, b, c = circuit.ops.tolist(), circuit.a.tolist(), circuit.b.tolist(), circuit.c.tolist()
    out = np.zeros((len(x), circuit.n_wires), dtype=np.uint8)
    for row, point in enumerate(np.asarray(x).tolist()):
        w = [int(v) for v in point] + [0, 1]
        for g, op in enumerate(ops):
            if op == 0:
                w.append(w[a[g]] & w[b[g]])
            elif op == 1:
                w.append(w[a[g]] ^ w[b[g]])
            elif op == 2:
                w.append(w[a[g]] | w[b[g]])
            elif op == 3:
                w.append(1 - w[a[g]])
            else:
                w.append(w[b[g]] if w[a[g]] else w[c[g]])
        out[row] = w
    return out


def reference_outputs(circuit: Circuit, x: np.ndarray) -> np.ndarray:
    """The outputs on each row of ``x``: ``(size, n_outputs)`` uint8."""
    return reference_wires(circuit, x)[:, circuit.outputs]


def cube(n: int) -> np.ndarray:
    """All 2^n points, point j having bit i = (j >> i) & 1: ``(2^n, n)`` uint8."""
    codes = np.arange(1 << n, dtype=np.int64)
    return ((codes[:, None] >> np.arange(n)) & 1).astype(np.uint8)
