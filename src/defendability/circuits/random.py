"""Random circuits: for benchmarks, tests and the reference prior of the ``circuits`` class.

Gate g draws its op from ``ops`` (uniformly, or with probabilities ``p``) and each operand
uniformly from the wires before it: the inputs and the earlier gates, and the two
constants too when ``constants`` is set. ``window`` restricts the operands to the
``window`` most recent of those wires, which makes circuits deep (a chain-like netlist,
as arithmetic circuits are) instead of the shallow, wide netlists that uniform choices
give. The outputs are the last ``n_outputs`` gates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ParameterError
from .netlist import ARITY, MUX, OP_NAMES, Circuit

ALL_OPS = tuple(range(len(OP_NAMES)))


def random_circuit(n_inputs: int, n_gates: int, rng: np.random.Generator, n_outputs: int = 1,
                   ops: Sequence[int] = ALL_OPS, p: Sequence[float] | None = None,
                   window: int | None = None, constants: bool = False) -> Circuit:
    """A random netlist of ``n_gates`` gates on ``n_inputs`` inputs (see the module doc).

    ``ops``: op codes to draw from; ``p``: their probabilities (default uniform);
    ``window``: operands come from the ``window`` most recent non-constant wires (default:
    all of them); ``constants``: the constant wires may be operands too.
    """
    if not isinstance(n_inputs, (int, np.integer)) or n_inputs < 1:
        raise ParameterError(f"random circuit: n_inputs must be >= 1, got n_inputs={n_inputs!r}")
    if not isinstance(n_gates, (int, np.integer)) or n_gates < 1:
        raise ParameterError(f"random circuit: n_gates must be >= 1, got n_gates={n_gates!r}")
    if not 1 <= n_outputs <= n_gates:
        raise ParameterError(f"random circuit: n_outputs must be in [1, n_gates={n_gates}], got n_outputs={n_outputs}")
    ops = np.asarray(ops, dtype=np.int64).reshape(-1)
    if len(ops) == 0 or ops.min() < 0 or ops.max() > MUX:
        raise ParameterError(f"random circuit: ops must be codes in [0, {MUX}], got ops={ops.tolist()}")
    if window is not None and window < 1:
        raise ParameterError(f"random circuit: window must be >= 1, got window={window}")
    n = int(n_inputs)
    g = np.arange(n_gates, dtype=np.int64)
    pool = n + g  # non-constant wires before gate g: the inputs and gates 0..g-1
    low = np.zeros_like(pool) if window is None else np.maximum(0, pool - window)
    span = pool - low + (2 if constants else 0)
    # operand r in [0, span): the r-th candidate wire; candidates are the windowed
    # non-constant wires, then (with ``constants``) the two constants
    draws = low[None, :] + np.floor(rng.random((3, n_gates)) * span[None, :]).astype(np.int64)
    beyond = draws - low[None, :] >= (pool - low)[None, :]  # picked a constant
    const_wire = n + (draws - low[None, :] - (pool - low)[None, :])
    # non-constant candidate r is input r (r < n) or gate r - n, whose wire is r + 2
    wires = np.where(draws < n, draws, draws + 2)
    wires = np.where(beyond, const_wire, wires)
    op = rng.choice(ops, size=n_gates, p=p).astype(np.uint8)
    arity = np.asarray(ARITY)[op]
    a = wires[0]
    b = np.where(arity > 1, wires[1], 0)
    c = np.where(arity > 2, wires[2], 0)
    outputs = n + 2 + np.arange(n_gates - n_outputs, n_gates)
    return Circuit(n, op, a, b, c, outputs)
