"""The span learner for parities over GF(2)^n: Gaussian elimination, batched over voters."""

from __future__ import annotations

import numpy as np

from ..classes.base import FunctionClass
from ..classes.parities import Parities
from ..errors import IncompatibleError, check
from ..registry import Match, register
from .base import Learner, check_batch, pac_sample_size

#: A point and its label share one word of at most 64 bits: n bits, then the label bit.
MAX_BITS = 63


def pack_rows(points: np.ndarray) -> np.ndarray:
    """``(..., n)`` 0/1 rows -> ``(...,)`` uint64 words, bit i = coordinate i (n <= 63)."""
    packed = np.packbits(points.astype(bool, copy=False), axis=-1, bitorder="little")
    words = np.zeros(points.shape[:-1] + (8,), dtype=np.uint8)
    words[..., : packed.shape[-1]] = packed
    # little-endian byte order matches bitorder="little": byte j carries bits 8j..8j+7
    return words.view("<u8")[..., 0].astype(np.uint64, copy=False)


def word_dtype(n: int) -> type:
    """uint32 when the n point bits and the label bit fit in it, else uint64: the
    elimination is memory-bound, so half-width words run about twice as fast."""
    return np.uint32 if n < 32 else np.uint64


def eliminate(words: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Reduced row echelon form of every voter's rows at once.

    ``words``: ``(V, k)`` unsigned words (``word_dtype(n)``), bits ``0..n-1`` a point and
    bit ``n`` its label. Returns ``basis`` ``(V, n)`` of the same dtype, where
    ``basis[v, b]`` is voter v's pivot row for bit b (0 when b is not a pivot), each
    pivot row clear on every other pivot bit; and ``consistent`` ``(V,)`` bool, False
    when the labels contradict every parity (some combination of the points is 0 but
    its labels xor to 1).

    The loop runs over the n pivot bits only; each step is a numpy operation over all
    voters and rows. Each pivot row is moved out of ``R`` (xored with itself) into
    ``basis``, so the rows left in ``R`` are exactly the candidates for later pivots.
    """
    dt = words.dtype.type
    R = words.copy()
    V, k = R.shape
    basis = np.zeros((V, n), dtype=dt)
    if k == 0:
        return basis, np.ones(V, dtype=bool)
    voters = np.arange(V)
    for b in range(n):
        bit = dt(1 << b)
        has = (R & bit) != 0
        pivot = has.argmax(axis=1)
        row = R[voters, pivot] * has[voters, pivot]
        # multiplying by a bool mask is several times faster than np.where on uint words
        R ^= has * row[:, None]
        # earlier pivot rows lose bit b too, which keeps the basis reduced
        basis[:, :b] ^= ((basis[:, :b] & bit) != 0) * row[:, None]
        basis[:, b] = row
    point_mask = dt((1 << n) - 1)
    contradiction = ((R & point_mask) == 0) & ((R >> dt(n)) != 0)
    return basis, ~contradiction.any(axis=1)


@register("learners", "span")
class Span(Learner):
    """Parities over GF(2)^n: the label implied by the batch's span, else 0; e(k) <= n/(k+1).

    Points are 0/1 rows of length n <= 63 (``X`` ``(V, k, n)``, ``Y`` ``(V, k)``,
    ``queries`` ``(Q, n)``; returns ``(V, Q)`` uint8). A batch labelled by a parity
    x -> <a, x> mod 2 fixes the label of every point in its GF(2) span (the xor of the
    labels of any combination giving that point); a voter predicts that label when the
    query is in its span and 0 otherwise. Guarantee (derived, THEORY.md §3 and §4.3):
    e(k) <= n/(k+1). Leave-one-out on k+1 points: a left-out point in the span of the
    others is predicted correctly, and at most n points (part of every basis) lie
    outside the span of the rest. The sample size m(eta) = ceil(n/eta) - 1 (derived) is
    the least k with n/(k+1) <= eta. Both hold only when the class is the parities
    (:class:`~defendability.classes.parities.Parities`): on any other class of 0/1 rows
    the learner still predicts, but ``expected_error`` and ``sample_size`` are
    ``None``.

    Every voter's batch is eliminated at once: each point and its label packed into
    one unsigned word (uint32 for n <= 31, else uint64), a Python loop over the n pivot
    bits only. Cost: O(n V k) word operations; about 4 ms for V = 200, k = 500, n = 20. A batch that no parity labels
    (its labels contradict each other) predicts 0 everywhere, as an empty version
    space leaves nothing to predict with. Homogeneous parities only: a class with a
    constant term (affine parities) is not what this learner predicts.
    """

    set_only = True  # depends on the set of distinct labelled examples, not on repeats
    test_match = Match(cls="parities:n=6")

    def check_class(self, cls: FunctionClass) -> None:
        """``IncompatibleError`` unless the points are 0/1 rows of length 1..63."""
        self._bits(cls)

    def _bits(self, cls: FunctionClass) -> int:
        shape = tuple(cls.point_shape)
        if len(shape) != 1 or not 1 <= shape[0] <= MAX_BITS:
            raise IncompatibleError(f"span learner: class {cls.name!r} has points of shape {shape}; "
                            f"it needs 0/1 rows of length 1..{MAX_BITS} (parities over GF(2)^n)")
        return shape[0]

    def predict(self, cls: FunctionClass, X: np.ndarray, Y: np.ndarray, queries: np.ndarray) -> np.ndarray:
        n = self._bits(cls)
        X, Y, queries = np.asarray(X), np.asarray(Y), np.asarray(queries)
        check_batch(cls, X, Y, queries)
        for name, arr in (("X", X), ("Y", Y), ("queries", queries)):
            if arr.size and (arr.min() < 0 or arr.max() > 1):
                raise ValueError(f"span learner: {name} must hold 0/1 values")
        dt = word_dtype(n)
        words = pack_rows(X).astype(dt) | (Y.astype(dt) << dt(n))
        basis, consistent = eliminate(words, n)
        # xoring in the pivot rows of the query's own set bits is a full reduction because
        # the basis is reduced: a pivot row never changes another pivot bit
        q = pack_rows(queries).astype(dt)
        reduced = np.zeros((X.shape[0], queries.shape[0]), dtype=dt) | q[None, :]
        for b in range(n):
            reduced ^= ((q & dt(1 << b)) != 0)[None, :] * basis[:, b, None]
        in_span = (reduced & dt((1 << n) - 1)) == 0
        label = (reduced >> dt(n)) != 0
        return (label & in_span & consistent[:, None]).astype(np.uint8)

    def expected_error(self, cls: FunctionClass, k: int) -> float | None:
        """n/(k+1) for the parities over GF(2)^n; ``None`` for any other class (the
        leave-one-out argument needs every target to be a parity)."""
        check(k >= 0, f"span: k must be >= 0, got {k}")
        if not isinstance(cls, Parities):
            return None
        return self._bits(cls) / (k + 1)

    def sample_size(self, cls: FunctionClass, eta: float) -> int | None:
        """ceil(n/eta) - 1 for the parities over GF(2)^n; ``None`` for any other class."""
        check(0 < eta < 1, f"span: eta must be in (0, 1), got {eta}")
        if not isinstance(cls, Parities):
            return None
        return pac_sample_size(self._bits(cls), eta)
