"""Threshold networks, and the compilation of a netlist into one (THEORY.md §5.3).

A threshold network on n inputs is a list of units in layers. Unit u computes
``[sum_j W[u, j] * v_j >= theta[u]]`` over the values v of the *nodes* it reads: node
``j < n`` is input j, node ``n + k`` is unit k. Weights and thresholds are integers, so
a unit is a step-activation neuron (a ReLU network with a step at the end of each
layer computes the same thing). A unit in layer l reads inputs and units of layers
before l only (skip connections are allowed, as in a residual or dense network), so a
whole layer is one sparse matrix product. The outputs are units.

:func:`compile_threshold` turns a :class:`~defendability.circuits.Circuit` into a
network computing the same function. This is one of the library's heuristic stand-ins
for obfuscation (``docs/obfuscation-stand-ins.md``): the network's units are threshold
gates rather than AND/XOR/OR/NOT/MUX, but what they compute is still read off the
weights, so it hides no more than the netlist does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import ParameterError
from .netlist import AND, MUX, NOT, OR, XOR, Circuit

#: Bytes of node values held at once while evaluating (one column per input of the chunk).
CHUNK_BYTES = 1 << 26

#: Units transposed at once by :meth:`ThresholdNetwork.wire_values`.
TRANSPOSE_BAND = 256

#: Largest sum of absolute weights of one unit (its sum is then exact in int64).
MAX_ROW_WEIGHT = 2.0 ** 61

#: Accumulator dtypes, smallest first: a layer's sums are exact in the first one whose
#: range holds every row's sum of absolute weights.
_ACCUMULATORS = (np.int8, np.int16, np.int32, np.int64)


def _csr_error(n: int, indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray, thresholds: np.ndarray,
               layer_starts: np.ndarray) -> str | None:
    """Why the int64 arrays are not a weight matrix in compressed-row form with one row
    per unit, in layers, over the ``n`` inputs and the units; or ``None``."""
    units = len(thresholds)
    if len(indptr) != units + 1 or indptr[0] != 0 or np.any(np.diff(indptr) < 0) \
            or indptr[-1] != len(indices) or len(weights) != len(indices):
        return ("threshold network: indptr, indices and weights are not a compressed-row "
                f"matrix with one row per unit ({units} units)")
    if units == 0:
        return "threshold network: needs at least one unit"
    if len(layer_starts) < 2 or layer_starts[0] != 0 or layer_starts[-1] != units or np.any(np.diff(layer_starts) <= 0):
        return (f"threshold network: layer_starts must rise strictly from 0 to {units}, "
                f"got {layer_starts.tolist()[:8]}...")
    nodes = n + units
    if len(indices) and (indices.min() < 0 or indices.max() >= nodes):
        return f"threshold network: a unit reads a node outside [0, {nodes})"
    return None


def network_error(n: int, indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray, thresholds: np.ndarray,
                  layer_starts: np.ndarray, outputs: np.ndarray) -> str | None:
    """Why these int64 arrays (the fields of :class:`ThresholdNetwork`) are not a
    threshold network on ``n`` inputs in canonical form, or ``None``.

    Canonical: each row's indices strictly increasing (sorted, no duplicates) and no zero
    weight, the form the constructor produces. Then: every unit reads inputs and units
    of earlier layers only, no unit's absolute weights sum above 2^61, and the outputs
    are units. The one check behind the constructor and the class's membership (arrays
    can be edited after construction).
    """
    error = _csr_error(n, indptr, indices, weights, thresholds, layer_starts)
    if error is not None:
        return error
    units = len(thresholds)
    entry_row = np.repeat(np.arange(units), np.diff(indptr))
    if np.any(weights == 0) or np.any((np.diff(indices) <= 0) & (entry_row[1:] == entry_row[:-1])):
        return "threshold network: rows are not canonical (indices sorted without repeats, no zero weights)"
    row_layer = np.repeat(np.arange(len(layer_starts) - 1), np.diff(layer_starts))
    # a unit of layer l may read node j only if j is an input or a unit of a layer before l
    limit = n + layer_starts[row_layer[entry_row]]
    if np.any(indices >= limit):
        bad = int(entry_row[np.flatnonzero(indices >= limit)[0]])
        return f"threshold network: unit {bad} (layer {int(row_layer[bad])}) reads a unit of its own or a later layer"
    if _row_abs_sums(indptr, weights).max() > MAX_ROW_WEIGHT:
        return "threshold network: a unit's absolute weights sum above 2^61"
    if len(outputs) == 0 or outputs.min() < 0 or outputs.max() >= units:
        return f"threshold network: outputs must be unit indices in [0, {units}), got {outputs.tolist()[:8]}"
    return None


@dataclass(frozen=True, eq=False)
class ThresholdNetwork:
    """A layered network of integer threshold units (see the module doc).

    ``indptr`` ``(U + 1,)``, ``indices`` ``(nnz,)`` and ``weights`` ``(nnz,)`` hold the
    weight matrix in compressed-row form (row u: the nodes unit u reads and their
    weights); ``thresholds`` ``(U,)``; ``layer_starts`` ``(L + 1,)``: layer l holds units
    ``layer_starts[l] .. layer_starts[l + 1] - 1`` (every layer non-empty); ``outputs``
    ``(m,)`` unit indices. On construction the rows are canonicalised (duplicate entries
    summed, zero weights dropped, indices sorted), arrays are made read-only, and a unit
    reading anything but the inputs and earlier layers is refused.
    """

    n_inputs: int
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    thresholds: np.ndarray
    layer_starts: np.ndarray
    outputs: np.ndarray

    def __post_init__(self) -> None:
        n = self.n_inputs
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ParameterError(f"a threshold network needs n_inputs >= 1, got {n!r}")
        n = int(n)
        object.__setattr__(self, "n_inputs", n)
        arrays = {}
        for name in ("indptr", "indices", "weights", "thresholds", "layer_starts", "outputs"):
            value = np.asarray(getattr(self, name))
            if value.size and not np.issubdtype(value.dtype, np.integer) and \
                    not (np.all(np.isfinite(value)) and np.all(value == np.round(value))):
                raise ParameterError(f"threshold network: {name} must be integers")
            arrays[name] = value.astype(np.int64).reshape(-1)
        error = _csr_error(n, arrays["indptr"], arrays["indices"], arrays["weights"], arrays["thresholds"],
                           arrays["layer_starts"])
        if error is not None:
            raise ParameterError(error)
        units = len(arrays["thresholds"])
        matrix = sp.csr_matrix((arrays["weights"], arrays["indices"], arrays["indptr"]), shape=(units, n + units))
        matrix.sum_duplicates()  # also sorts the indices
        matrix.eliminate_zeros()
        canonical = {"indptr": matrix.indptr, "indices": matrix.indices, "weights": matrix.data,
                     "thresholds": arrays["thresholds"], "layer_starts": arrays["layer_starts"],
                     "outputs": arrays["outputs"]}
        canonical = {name: np.array(value, dtype=np.int64) for name, value in canonical.items()}
        error = network_error(n, **canonical)
        if error is not None:
            raise ParameterError(error)
        for name, value in canonical.items():
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    # -- shape -------------------------------------------------------------------------
    @property
    def n_units(self) -> int:
        return len(self.thresholds)

    @property
    def n_layers(self) -> int:
        return len(self.layer_starts) - 1

    @property
    def n_outputs(self) -> int:
        return len(self.outputs)

    @property
    def n_weights(self) -> int:
        """Nonzero weights."""
        return len(self.weights)

    def key(self) -> tuple:
        """A hashable canonical form (equal networks, equal keys)."""
        return (self.n_inputs,) + tuple(getattr(self, name).tobytes() for name in
                                        ("indptr", "indices", "weights", "thresholds", "layer_starts", "outputs"))

    def __repr__(self) -> str:
        return (f"ThresholdNetwork(n_inputs={self.n_inputs}, units={self.n_units}, layers={self.n_layers}, "
                f"weights={self.n_weights}, outputs={self.n_outputs})")

    # -- evaluation --------------------------------------------------------------------
    def _layers(self) -> list[tuple[sp.csr_matrix, np.ndarray, int, int]]:
        """Per layer: its weight rows over the nodes before it (CSR, in the smallest exact
        accumulator dtype), its thresholds, and its first and last unit + 1. Built per
        call from the read-only arrays, so no mutable state is kept between calls."""
        n, layers = self.n_inputs, []
        abs_sums = _row_abs_sums(self.indptr, self.weights)
        for start, stop in zip(self.layer_starts[:-1].tolist(), self.layer_starts[1:].tolist()):
            lo, hi = int(self.indptr[start]), int(self.indptr[stop])
            weights = self.weights[lo:hi]
            bound = int(abs_sums[start:stop].max())
            dtype = next(t for t in _ACCUMULATORS if bound + 1 <= np.iinfo(t).max)
            # |sum| <= bound, so clipping theta to [-bound - 1, bound + 1] keeps every
            # comparison and lets it run in the accumulator's dtype
            theta = np.clip(self.thresholds[start:stop], -bound - 1, bound + 1).astype(dtype)
            rows = sp.csr_matrix((weights.astype(dtype), self.indices[lo:hi], self.indptr[start:stop + 1] - lo),
                                 shape=(stop - start, n + start))
            layers.append((rows, theta, start, stop))
        return layers

    def _values(self, x: np.ndarray):
        """Yields ``(rows, V)`` per chunk of the batch: ``V`` ``(n + U, len(rows))`` int8,
        the value of every node on those inputs (one column per input)."""
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ParameterError(f"expected inputs of shape (size, {self.n_inputs}), got {x.shape}")
        n, nodes = self.n_inputs, self.n_inputs + self.n_units
        chunk = max(64, (CHUNK_BYTES // nodes) // 64 * 64)
        layers = self._layers()
        for first in range(0, len(x), chunk):
            block = x[first:first + chunk]
            values = np.empty((nodes, len(block)), dtype=np.int8)
            values[:n] = (block != 0).T
            for rows, theta, start, stop in layers:
                # the accumulator is exact (see _layers); values[:n + start] is contiguous
                sums = rows @ values[:n + start]
                np.greater_equal(sums, theta[:, None], out=values[n + start:n + stop].view(bool))
            yield slice(first, first + len(block)), values

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """Outputs of a batch ``x`` ``(size, n_inputs)`` of 0/1 as ``(size, n_outputs)`` uint8."""
        out = np.empty((len(x), self.n_outputs), dtype=np.uint8)
        for rows, values in self._values(x):
            out[rows] = values[self.n_inputs + self.outputs].T
        return out

    def wire_values(self, x: np.ndarray) -> np.ndarray:
        """Every unit's output on a batch ``x``: ``(size, n_units)`` uint8 (the white-box
        view; the inputs are not repeated)."""
        n, units = self.n_inputs, self.n_units
        out = np.empty((len(x), units), dtype=np.uint8)
        for rows, values in self._values(x):
            # transposed a band of units at a time: a whole-array transpose of bytes
            # thrashes the cache and is several times slower
            for first in range(0, units, TRANSPOSE_BAND):
                last = min(units, first + TRANSPOSE_BAND)
                out[rows, first:last] = values[n + first:n + last].T
        return out


def _row_abs_sums(indptr: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Sum of absolute weights of each row, ``(rows,)`` float64 (bounds a unit's sum)."""
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    return np.bincount(rows, weights=np.abs(weights.astype(np.float64)), minlength=len(indptr) - 1)


# -- compilation -----------------------------------------------------------------------
# A literal is a node's value or its negation, or a constant: 2 * node + negated for
# node >= 0, and these two codes for the constants.
CONST0, CONST1 = -1, -2


def _neg(lit: int) -> int:
    return lit ^ 1  # also swaps the constants: -1 ^ 1 == -2


class _Compiler:
    """Literals of a netlist's wires over an intermediate list of units.

    Each unit is ``(terms, theta)`` with terms a list of ``(weight, literal)`` pairs, or
    a *clause*: the AND of a list of literals (weights 1, theta = its length), kept
    apart so that a clause read only by another clause can be merged into it (unbounded
    fan-in is what a threshold unit offers). NOT costs nothing: a unit reading a negated
    literal gets the negated weight and a lowered threshold. Constants are folded into
    thresholds.
    """

    def __init__(self, n: int):
        self.n = n
        self.units: list[tuple[list[tuple[int, int]], int]] = []
        self.clause: list[bool] = []

    def _new(self, terms: list[tuple[int, int]], theta: int, clause: bool = False) -> int:
        self.units.append((terms, theta))
        self.clause.append(clause)
        return 2 * (self.n + len(self.units) - 1)

    def unit(self, terms: list[tuple[int, int]], theta: int) -> int:
        """The literal of ``[sum w * lit >= theta]``; a constant or an existing literal
        when the unit reduces to one (no terms, or one term that passes its node through)."""
        folded: dict[int, int] = {}
        for w, lit in terms:
            if lit == CONST1:
                theta -= w
            elif lit >= 0:
                if lit & 1:  # w * (1 - v) = w - w * v
                    theta -= w
                    w = -w
                folded[lit >> 1] = folded.get(lit >> 1, 0) + w
        folded = {node: w for node, w in folded.items() if w}
        if not folded:
            return CONST1 if theta <= 0 else CONST0
        if len(folded) == 1:
            (node, w), = folded.items()
            low, high = min(0, w), max(0, w)  # the sum's two values
            if theta <= low:
                return CONST1
            if theta > high:
                return CONST0
            return 2 * node + (w < 0)
        return self._new([(w, 2 * node) for node, w in folded.items()], theta)

    def and_(self, a: int, b: int) -> int:
        if CONST0 in (a, b) or a == _neg(b):
            return CONST0
        if a == CONST1 or a == b:
            return b
        if b == CONST1:
            return a
        return self._new([(1, a), (1, b)], 2, clause=True)

    def or_(self, a: int, b: int) -> int:
        return _neg(self.and_(_neg(a), _neg(b)))

    def xor(self, a: int, b: int) -> int:
        if a < 0 or b < 0:
            const, other = (a, b) if a < 0 else (b, a)
            return other if const == CONST0 else _neg(other)
        parity = (a ^ b) & 1
        a, b = a & ~1, b & ~1
        if a == b:
            return CONST1 if parity else CONST0
        both = self.and_(a, b)
        return self.unit([(1, a), (1, b), (-2, both)], 1) ^ parity  # a + b - 2ab >= 1

    def mux(self, s: int, t: int, e: int) -> int:
        """t if s else e."""
        if s < 0:
            return t if s == CONST1 else e
        if s & 1:
            s, t, e = s ^ 1, e, t
        if t == e:
            return t
        if t == _neg(e):  # s ? t : not t
            return _neg(self.xor(s, t))
        if t < 0 or e < 0 or t in (s, _neg(s)) or e in (s, _neg(s)):
            # a constant or the selector among the data: one AND/OR of two literals
            return self.or_(self.and_(s, t), self.and_(_neg(s), e))
        both = self.and_(s, t)
        return self.unit([(2, both), (-1, s), (1, e)], 1)  # s = 0: e; s = 1: 2 t - 1 + e >= 1 iff t

    def finish(self, outputs: list[int]) -> ThresholdNetwork:
        n, units, clause = self.n, self.units, self.clause
        readers = [0] * (n + len(units))  # fan-out of every node, outputs included
        for terms, _ in units:
            for _, lit in terms:
                if lit >= 0:
                    readers[lit >> 1] += 1
        for lit in outputs:
            if lit >= 0:
                readers[lit >> 1] += 1
        # a clause read once, positively, by another clause merges into it
        alive = [True] * len(units)
        for k, (terms, theta) in enumerate(units):
            if not clause[k]:
                continue
            merged = []
            for w, lit in terms:
                node = lit >> 1
                if node >= n and not lit & 1 and clause[node - n] and readers[node] == 1:
                    merged.extend(units[node - n][0])
                    alive[node - n] = False
                else:
                    merged.append((w, lit))
            units[k] = (merged, len(merged))
        out_units, negated = [], set()
        for lit in outputs:
            node = lit >> 1
            if node in negated:
                lit ^= 1
            elif lit >= 2 * n and lit & 1 and readers[node] == 1:
                # the negation of a unit only this output reads: negate the unit itself,
                # not [sum >= theta] = [-sum >= 1 - theta] (integer sums)
                terms, theta = units[node - n]
                units[node - n] = ([(-w, t) for w, t in terms], 1 - theta)
                negated.add(node)
                lit ^= 1
            if lit >= 2 * n and not lit & 1:
                out_units.append(node)
            else:  # an input, a negation of a unit read elsewhere, or a constant
                out_units.append(self._new([(1, lit)] if lit >= 0 else [], 1 if lit != CONST1 else 0) >> 1)
                alive.append(True)
        # rows over nodes, then layers by depth (inputs have depth 0)
        depth = np.zeros(n + len(units), dtype=np.int64)
        rows = []
        for k, (terms, theta) in enumerate(units):
            if not alive[k]:
                continue  # merged into its reader
            row: dict[int, int] = {}
            for w, lit in terms:
                if lit == CONST1:
                    theta -= w
                elif lit >= 0:
                    if lit & 1:
                        theta -= w
                        w = -w
                    row[lit >> 1] = row.get(lit >> 1, 0) + w
            row = {node: w for node, w in row.items() if w}  # x and not x cancel
            depth[n + k] = 1 + max((depth[node] for node in row), default=0)
            rows.append((k, row, theta))
        order = sorted(range(len(rows)), key=lambda r: depth[n + rows[r][0]])
        new_index = np.full(n + len(units), -1, dtype=np.int64)
        new_index[:n] = np.arange(n)
        for position, r in enumerate(order):
            new_index[n + rows[r][0]] = n + position
        indptr, indices, weights, thresholds = [0], [], [], []
        for r in order:
            _, row, theta = rows[r]
            indices.extend(new_index[list(row)].tolist())
            weights.extend(row.values())
            indptr.append(len(indices))
            thresholds.append(theta)
        depths = depth[n + np.array([rows[r][0] for r in order], dtype=np.int64)]
        starts = np.concatenate([[0], np.flatnonzero(np.diff(depths)) + 1, [len(order)]])
        return ThresholdNetwork(n, np.array(indptr), np.array(indices, dtype=np.int64),
                                np.array(weights, dtype=np.int64), np.array(thresholds, dtype=np.int64),
                                starts, new_index[np.array(out_units)] - n)


def compile_threshold(circuit: Circuit) -> ThresholdNetwork:
    """A threshold network computing the same function as ``circuit`` (every output).

    Gate by gate: AND and OR are one unit each (``a + b >= 2``, ``a + b >= 1``), NOT is
    free (the reader's weight is negated and its threshold lowered), XOR is two units
    (``h = [a + b >= 2]``, ``[a + b - 2h >= 1]``), MUX is two (``h = [s + t >= 2]``,
    ``[2h - s + e >= 1]``). Constants are propagated, an AND/OR of a literal with itself
    or its negation folds, and an AND (or OR) read only by another AND (OR) is merged into
    it, so an AND-tree becomes one unit of large fan-in. Nothing else is simplified: a
    gate that influences no output still becomes a unit (so a padded netlist stays
    padded). Outputs that are inputs, constants or negations get a unit of their own.
    Layers are depths: a unit's layer is one more than the deepest unit it reads.
    """
    if not isinstance(circuit, Circuit):
        raise ParameterError(f"compile_threshold needs a Circuit, got {type(circuit).__name__}")
    n = circuit.n_inputs
    comp = _Compiler(n)
    lits = [2 * i for i in range(n)] + [CONST0, CONST1]
    for op, a, b, c in zip(circuit.ops.tolist(), circuit.a.tolist(), circuit.b.tolist(), circuit.c.tolist()):
        if op == AND:
            lits.append(comp.and_(lits[a], lits[b]))
        elif op == XOR:
            lits.append(comp.xor(lits[a], lits[b]))
        elif op == OR:
            lits.append(comp.or_(lits[a], lits[b]))
        elif op == NOT:
            lits.append(_neg(lits[a]))
        elif op == MUX:
            lits.append(comp.mux(lits[a], lits[b], lits[c]))
    return comp.finish([lits[w] for w in circuit.outputs.tolist()])
