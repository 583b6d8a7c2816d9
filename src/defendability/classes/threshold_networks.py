"""Threshold networks over {0,1}^n as a function class (THEORY.md §5.3).

A member is a layered network of integer threshold units
(:class:`~defendability.circuits.threshold.ThresholdNetwork`) with one output; its
representation is every weight and threshold, so a white-box defender can read the
network and every unit's value (:meth:`ThresholdNetworkFunction.wire_values`). This is
the class on which the compilation stand-in (``compile_threshold``, a heuristic
stand-in for obfuscation, not obfuscation) is played: circuits compiled to step-activation
networks, the form closest to a neural network.
"""

from __future__ import annotations

import numpy as np

from ..circuits.random import random_circuit
from ..circuits.threshold import ThresholdNetwork, compile_threshold, network_error
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

#: Largest n for which ``exact_distance`` enumerates the cube (2^20 inputs).
MAX_EXACT_N = 20

#: Cube points evaluated at once by ``exact_distance``.
CUBE_BLOCK = 1 << 16

#: Gates of the random circuit behind a random member, per input bit.
RANDOM_GATES_PER_INPUT = 8

#: The array fields of a :class:`ThresholdNetwork`, in constructor order.
_NETWORK_ARRAYS = ("indptr", "indices", "weights", "thresholds", "layer_starts", "outputs")


class ThresholdNetworkFunction(Function):
    """x -> output 0 of ``network`` on {0,1}^n.

    Representation: ``network``, a :class:`~defendability.circuits.threshold.ThresholdNetwork`
    (read-only arrays; the class's ``contains`` checks them again, its ``rebuild`` copies
    them). A batch ``(m, n)`` of 0/1 rows gives ``(m,)`` uint8. Equality compares
    networks weight by weight: two networks of one function are different representations.
    """

    def __init__(self, network: ThresholdNetwork):
        if not isinstance(network, ThresholdNetwork):
            raise ParameterError(f"a threshold-network function needs a ThresholdNetwork, got {type(network).__name__}")
        self.network = network

    @property
    def n(self) -> int:
        return self.network.n_inputs

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = as_bit_rows(x, self.n)
        return self.network.evaluate(x)[:, 0]

    def wire_values(self, x: np.ndarray) -> np.ndarray:
        """Every unit's output on a batch ``x`` ``(m, n)``: ``(m, n_units)`` uint8."""
        return self.network.wire_values(as_bit_rows(x, self.n))

    def key(self) -> tuple:
        return ("ThresholdNetworkFunction",) + self.network.key()

    def __repr__(self) -> str:
        net = self.network
        return f"ThresholdNetworkFunction(n={net.n_inputs}, units={net.n_units}, layers={net.n_layers})"


def point_detectors(n: int, points: np.ndarray, labels: np.ndarray) -> ThresholdNetwork:
    """The network labelling each of ``points`` (``(p, n)`` distinct 0/1 rows) by
    ``labels`` and every other point 0, in two layers.

    Layer 1 has one detector per point q: ``[sum_{q_i = 1} x_i - sum_{q_i = 0} x_i >= |q|]``,
    1 exactly at x = q (it is the n-literal conjunction of q, what
    :func:`~defendability.circuits.threshold.compile_threshold` makes of the DNF term of
    q). The output unit is ``[sum_j s_j h_j >= 1]`` with s_j = +1 for a point labelled 1
    and -1 for a point labelled 0: at most one detector fires, so the output is the
    label at the points and 0 elsewhere. ``p + 1`` units whatever the labels (only the
    signs of the output weights depend on them).
    """
    points = as_bit_rows(points, n)
    labels = np.asarray(labels).reshape(-1)
    p = len(points)
    weights = np.concatenate([np.where(points == 1, 1, -1).reshape(-1), np.where(labels != 0, 1, -1)])
    indices = np.concatenate([np.tile(np.arange(n), p), n + np.arange(p)])
    indptr = np.concatenate([np.arange(p + 1) * n, [p * n + p]])
    thresholds = np.concatenate([points.sum(axis=1, dtype=np.int64), [1]])
    starts = [0, p, p + 1] if p else [0, 1]
    return ThresholdNetwork(n, indptr, indices, weights, thresholds, starts, [p])


@register("classes", "threshold-networks")
class ThresholdNetworks(CubeDomain, FunctionClass):
    """Threshold networks with at most max_units integer threshold units over {0,1}^n, one output.

    Points are 0/1 rows of length n (``point_shape == (n,)``, uint8); a member is a
    :class:`ThresholdNetworkFunction`. Default distribution: uniform on {0,1}^n.

    Shattered set and ``vc_dimension`` (a lower bound): the first d = min(2^n,
    max_units - 1) points of the cube in code order (point j has bit i = (j >> i) & 1);
    any labelling of d distinct points is realised by :func:`point_detectors` (d
    detectors and one output unit, the compiled form of a DNF circuit). The true VC
    dimension of the class is larger (for n > log2 max_units every function of
    about log2(max_units) + log2 log2(max_units) bits has a network within the bound);
    an upper bound of order W log W in the number W of weights is Baum and Haussler's
    (1989), and the fan-in is unbounded here, so no finite one follows from max_units
    alone. The shattering attackers and THEORY.md §2's bounds use this d.

    ``random_member``: a random circuit (:func:`~defendability.circuits.random.random_circuit`,
    min(8 n, (max_units - 1) // 2) gates, ops uniform over the five) compiled by
    :func:`~defendability.circuits.threshold.compile_threshold` (at most two units per
    gate and one for the output). ``exact_distance`` under the uniform cube by enumeration
    for n <= 20, else ``None`` (the referee estimates it). ``cheapest_flip``: f XOR
    [x = x*], three more units, differing from f at x* only: the least distance any flip
    can have, under every distribution. ``fit_member``: the point detectors of the
    distinct training points, each with its majority label (zero training error when no
    point carries both labels).
    """

    test_spec = "threshold-networks:n=8"

    def __init__(self, n: int = 32, max_units: int = 1_000_000):
        check(1 <= n <= MAX_N, f"threshold-networks: n must be in [1, {MAX_N}], got n={n}")
        check(max_units >= 3, f"threshold-networks: max_units must be >= 3, got max_units={max_units}")
        self.n, self.max_units = int(n), int(max_units)

    @property
    def vc_dimension(self) -> int:
        """A lower bound: the size of the shattered set (see the class doc)."""
        return min(1 << min(self.n, 62), self.max_units - 1)

    def shattered_set(self) -> np.ndarray:
        codes = np.arange(self.vc_dimension, dtype=np.int64)
        points = np.zeros((len(codes), self.n), dtype=np.uint8)
        bits = min(self.n, 63)
        points[:, :bits] = (codes[:, None] >> np.arange(bits)) & 1
        return points

    def realise(self, points: np.ndarray, labels: np.ndarray) -> ThresholdNetworkFunction:
        """:func:`point_detectors` of the distinct points (any points, not only the
        shattered set). ``ParameterError`` for a point given two labels or more distinct
        points than max_units - 1."""
        points = as_bit_rows(points, self.n)
        labels = (np.asarray(labels).reshape(-1) != 0).astype(np.uint8)
        check(len(points) == len(labels), "threshold-networks: realise needs one label per point")
        distinct, inverse = np.unique(points, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        own = np.zeros(len(distinct), dtype=np.uint8)
        own[inverse] = labels
        if not np.array_equal(own[inverse], labels):
            raise ParameterError("threshold-networks: realise got a point labelled both 0 and 1")
        check(len(distinct) + 1 <= self.max_units,
              f"threshold-networks: realising {len(distinct)} points needs {len(distinct) + 1} units, "
              f"more than max_units={self.max_units}")
        return ThresholdNetworkFunction(point_detectors(self.n, distinct, own))

    def contains(self, f: Function) -> bool:
        """A :class:`ThresholdNetworkFunction` exactly (no subclass; a ``Counted`` view
        is unwrapped) whose ``network`` is a :class:`ThresholdNetwork` exactly, with
        this class's n inputs, one output and at most max_units units.

        The network is checked again here, as it stands: no instance attribute hiding
        one of its methods (``network.evaluate = ...``), its arrays plain, read-only
        int64 numpy arrays forming a network in the constructor's canonical form
        (:func:`~defendability.circuits.threshold.network_error`; a write flag can be
        turned back on and the arrays edited after construction).
        """
        f = exact_member(f, ThresholdNetworkFunction)
        net = None if f is None else vars(f).get("network")
        if type(net) is not ThresholdNetwork or shadows_behaviour(net):
            return False
        if type(net.n_inputs) is not int or net.n_inputs != self.n:
            return False
        arrays = {name: getattr(net, name) for name in _NETWORK_ARRAYS}
        if not all(type(a) is np.ndarray for a in arrays.values()):
            return False
        units, nnz = len(arrays["thresholds"]), len(arrays["indices"])
        shapes = {"indptr": (units + 1,), "indices": (nnz,), "weights": (nnz,), "thresholds": (units,),
                  "layer_starts": (len(arrays["layer_starts"]),), "outputs": (1,)}
        if not all(is_array(a, shapes[name], np.int64) and not a.flags.writeable for name, a in arrays.items()):
            return False
        return units <= self.max_units and network_error(self.n, **arrays) is None

    def rebuild(self, f: Function) -> ThresholdNetworkFunction:
        """A fresh :class:`ThresholdNetworkFunction` of a :class:`ThresholdNetwork` built
        from ``f``'s checked arrays (the constructor copies them): no attribute of the
        object the attacker built, and no later change to its arrays, reaches the
        referee's member."""
        net = unwrap(f).network
        return ThresholdNetworkFunction(ThresholdNetwork(self.n, *(getattr(net, name) for name in _NETWORK_ARRAYS)))

    def random_member(self, rng: np.random.Generator) -> ThresholdNetworkFunction:
        gates = max(1, min(RANDOM_GATES_PER_INPUT * self.n, (self.max_units - 1) // 2))
        return ThresholdNetworkFunction(compile_threshold(random_circuit(self.n, gates, rng)))

    def exact_distance_points(self, dist: Distribution) -> int:
        """2^n where :meth:`exact_distance` enumerates the cube, else 0."""
        return 1 << self.n if self._is_cube(dist) and self.n <= MAX_EXACT_N else 0

    def exact_distance(self, f: Function, g: Function, dist: Distribution) -> float | None:
        """Under the uniform cube with n <= 20: the disagreements of the two networks
        counted over all 2^n inputs, in blocks of 2^16. ``None`` for other
        distributions, larger n, or functions that are not threshold networks."""
        if not self._is_cube(dist) or self.n > MAX_EXACT_N:
            return None
        f, g = unwrap(f), unwrap(g)
        if not (isinstance(f, ThresholdNetworkFunction) and isinstance(g, ThresholdNetworkFunction)):
            return None
        if f.key() == g.key():
            return 0.0
        total, disagree = 1 << self.n, 0
        for first in range(0, total, CUBE_BLOCK):
            codes = np.arange(first, min(total, first + CUBE_BLOCK), dtype=np.int64)
            points = ((codes[:, None] >> np.arange(self.n)) & 1).astype(np.uint8)
            disagree += int(np.count_nonzero(f(points) != g(points)))
        return disagree / total

    def cheapest_flip(self, f: Function, x: np.ndarray, dist: Distribution) -> ThresholdNetworkFunction | None:
        """f XOR [input = x]: a detector of x in the first layer and an XOR of it with f's
        output in two more layers (three units in all, :func:`flip_at`); ``None`` if that
        exceeds max_units. Any member flipping x differs from f at x, so none is closer
        under any distribution."""
        f = unwrap(f)
        if not isinstance(f, ThresholdNetworkFunction) or f.network.n_units + 3 > self.max_units:
            return None
        point = as_bit_rows(np.asarray(x).reshape(1, -1), self.n)[0]
        return ThresholdNetworkFunction(flip_at(f.network, point))

    def fit_member(self, X: np.ndarray, Y: np.ndarray) -> ThresholdNetworkFunction:
        """Empirical risk minimisation by memorising: :func:`point_detectors` of the
        distinct points of X, each with its majority label (ties: 0), so no member has
        fewer mistakes on (X, Y). ``ParameterError`` when there are more distinct points
        than max_units - 1."""
        X = as_bit_rows(X, self.n)
        Y = np.asarray(Y).reshape(-1)
        check(len(X) == len(Y), "threshold-networks: fit_member needs one label per point")
        distinct, inverse = np.unique(X, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        ones = np.bincount(inverse, weights=(Y != 0), minlength=len(distinct))
        seen = np.bincount(inverse, minlength=len(distinct))
        check(len(distinct) + 1 <= self.max_units,
              f"threshold-networks: memorising {len(distinct)} points needs {len(distinct) + 1} units, "
              f"more than max_units={self.max_units}")
        return ThresholdNetworkFunction(point_detectors(self.n, distinct, (2 * ones > seen).astype(np.uint8)))


def flip_at(network: ThresholdNetwork, point: np.ndarray) -> ThresholdNetwork:
    """``network`` (output 0 only) XOR [input = point], for ``point`` ``(n,)`` of 0/1.

    Adds a detector ``h = [sum_{p_i = 1} x_i - sum_{p_i = 0} x_i >= |p|]`` at the end of
    layer 1, then ``t = [o + h >= 2]`` and ``[o + h - 2t >= 1]`` (o the old output) in
    two new last layers; the last is the new output. The old units keep their order, so
    old unit k is unit k (layer 1) or k + 1 (later layers).
    """
    n, old = network.n_inputs, network.n_units
    point = np.asarray(point).reshape(-1)
    if point.shape != (n,) or not np.all((point == 0) | (point == 1)):
        raise ParameterError(f"flip_at: the point must be ({n},) of 0/1, got shape {point.shape}")
    cut = int(network.layer_starts[1])  # the detector becomes unit `cut`
    # node j of the old network: inputs and layer 1 stay, later units shift by one
    indices = network.indices + (network.indices >= n + cut)
    split = int(network.indptr[cut])
    output = int(network.outputs[0])
    o = n + output + (output >= cut)
    h, t = n + cut, n + old + 1
    indices = np.concatenate([indices[:split], np.arange(n), indices[split:], [o, h, o, h, t]])
    weights = np.concatenate([network.weights[:split], np.where(point == 1, 1, -1), network.weights[split:],
                              [1, 1, 1, 1, -2]])
    row_sizes = np.concatenate([np.diff(network.indptr)[:cut], [n], np.diff(network.indptr)[cut:], [2, 3]])
    thresholds = np.concatenate([network.thresholds[:cut], [int(point.sum())], network.thresholds[cut:], [2, 1]])
    starts = np.concatenate([[0], network.layer_starts[1:] + 1, [old + 2, old + 3]])
    return ThresholdNetwork(n, np.concatenate([[0], np.cumsum(row_sizes)]), indices, weights, thresholds,
                            starts, [old + 2])
