"""Parities over GF(2)^n: x -> <a, x> mod 2, the class learned by Gaussian elimination."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..errors import ParameterError, check
from ..registry import register
from ..spaces import Distribution
from .base import (
    CubeDomain,
    Function,
    FunctionClass,
    exact_member,
    is_array,
    lightest_flip,
    row_blocks,
    unwrap,
)

#: ``members()`` and the exhaustive ``cheapest_flip`` enumerate 2^n parities up to this n.
MAX_ENUMERATED_N = 16

#: Largest n of the class (bounds the work of elimination and evaluation).
MAX_N = 4096


def as_bit_rows(x: np.ndarray, n: int) -> np.ndarray:
    """A batch of points of {0,1}^n as a ``(m, n)`` uint8 array (raises ``ValueError``)."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != n:
        raise ValueError(f"points must have shape (m, {n}), got {x.shape}")
    if x.dtype != np.uint8:
        if not bool(np.all((x == 0) | (x == 1))):
            raise ValueError("points must be 0/1 rows")
        x = x.astype(np.uint8)
    return x


def _pack(bits: np.ndarray) -> np.ndarray:
    """``(m, c)`` 0/1 rows -> ``(m, W)`` little-endian uint64 words, bit j of a row at
    word j // 64, bit j % 64."""
    packed = np.packbits(bits.astype(bool), axis=1, bitorder="little")
    words = -(-bits.shape[1] // 64)
    padded = np.zeros((bits.shape[0], 8 * words), dtype=np.uint8)
    padded[:, : packed.shape[1]] = packed
    return padded.view("<u8")


def solve_gf2(A: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, bool]:
    """A solution a of A a = y over GF(2), and whether the system is consistent.

    ``A``: ``(m, n)`` 0/1, ``y``: ``(m,)`` 0/1. Gauss-Jordan elimination on the augmented
    rows [A | y], bit-packed into uint64 words: the Python loop runs over the n columns
    only, each step one xor over all rows. Free variables are set to 0. On an
    inconsistent system the returned a satisfies the pivot equations of the elimination
    (a maximal independent set of rows in the order pivots were found), not every row.
    Returns ``(a, consistent)`` with ``a`` ``(n,)`` uint8.
    """
    A = np.asarray(A)
    m, n = A.shape
    a = np.zeros(n, dtype=np.uint8)
    if m == 0:
        return a, True
    R = _pack(np.concatenate([A.astype(bool), np.asarray(y, dtype=bool).reshape(m, 1)], axis=1))
    pivots: list[tuple[int, int]] = []
    rank = 0
    for c in range(n):
        word, bit = c >> 6, np.uint64(1) << np.uint64(c & 63)
        has = (R[rank:, word] & bit) != 0
        if not has.any():
            continue
        p = rank + int(np.argmax(has))
        R[[rank, p]] = R[[p, rank]]
        clear = (R[:, word] & bit) != 0
        clear[rank] = False
        R[clear] ^= R[rank]
        pivots.append((rank, c))
        rank += 1
        if rank == m:
            break
    yword, ybit = n >> 6, np.uint64(1) << np.uint64(n & 63)
    for row, c in pivots:
        a[c] = int((R[row, yword] & ybit) != 0)
    consistent = not bool(np.any((R[rank:, yword] & ybit) != 0))
    return a, consistent


class ParityFunction(Function):
    """x -> <a, x> mod 2 on {0,1}^n. Representation: ``a``, a ``(n,)`` uint8 0/1 vector.

    A batch ``(m, n)`` of 0/1 rows gives ``(m,)`` uint8. ``n`` is ``len(a)``, and the
    evaluation reads ``a`` alone (its support is recomputed per call, not cached), so
    the function cannot differ from what its representation says.
    """

    def __init__(self, a: np.ndarray):
        self.a = np.asarray(a, dtype=np.uint8).reshape(-1).copy()

    @property
    def n(self) -> int:
        return len(self.a)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = as_bit_rows(x, self.n)
        support = np.flatnonzero(self.a)
        if len(support) == 0:
            return np.zeros(len(x), dtype=np.uint8)
        return np.bitwise_xor.reduce(x[:, support], axis=1).astype(np.uint8)

    def key(self) -> tuple:
        return ("parity", self.n, self.a.tobytes())

    def __repr__(self) -> str:
        return f"ParityFunction(a={''.join(map(str, self.a.tolist()))})"


def _all_vectors(n: int, codes: np.ndarray) -> np.ndarray:
    """The 0/1 vectors ``(len(codes), n)`` with bit i of code c at position i."""
    return ((codes[:, None] >> np.arange(n, dtype=np.int64)) & 1).astype(np.uint8)


@register("classes", "parities")
class Parities(CubeDomain, FunctionClass):
    """Parities x -> <a, x> mod 2 over GF(2)^n (VC dimension n), points uint8 rows.

    Points are 0/1 rows of length n (``point_shape == (n,)``); a member is a
    :class:`ParityFunction`. VC = n: the parities are the dual space of GF(2)^n, so they
    shatter the identity rows e_1..e_n (a_i = label of e_i), and any n + 1 points are
    linearly dependent, so the label of one is forced by the others. The default
    distribution is uniform on {0,1}^n, under which two distinct parities differ on
    exactly half the cube (their xor is a non-zero linear form). This is the PAC-learnable
    class of CHLX's "efficient learnability implies efficient defendability" (THEORY.md
    §3, paper), learned by Gaussian elimination.

    ``realise`` solves the linear system over GF(2) for any points (``ParameterError`` if
    the labels contradict every parity). ``exact_distance`` is the closed form under the
    uniform cube, ``None`` elsewhere (the referee then sums over the support).
    ``cheapest_flip``: under the uniform cube a xor e_j for the first j with x_j = 1
    (every flip costs 1/2); under other finite distributions an exhaustive search for
    n <= 16; ``None`` at x = 0, where every parity is 0. ``members()`` for n <= 16.
    ``fit_member`` returns a parity consistent with the batch when one exists. A ``vote``
    defender without a learner uses ``span`` here (Gaussian elimination, batched over
    voters, with the guarantee n/(k+1)).
    """

    test_spec = "parities:n=6"

    natural_learner = "span"

    def __init__(self, n: int = 12):
        check(1 <= n <= MAX_N, f"parities: n must be in [1, {MAX_N}], got n={n}")
        self.n = int(n)

    @property
    def vc_dimension(self) -> int:
        return self.n

    def shattered_set(self) -> np.ndarray:
        return np.eye(self.n, dtype=np.uint8)

    def realise(self, points: np.ndarray, labels: np.ndarray) -> ParityFunction:
        points = as_bit_rows(points, self.n)
        labels = np.asarray(labels).reshape(-1)
        check(len(points) == len(labels), "parities: realise needs one label per point")
        a, consistent = solve_gf2(points, labels)
        if not consistent:
            raise ParameterError("parities: no parity realises these labels "
                                 "(the points are linearly dependent and the labels disagree)")
        return ParityFunction(a)

    def contains(self, f: Function) -> bool:
        """A :class:`ParityFunction` exactly (no subclass) whose ``a`` is a plain
        ``(n,)`` uint8 array of 0s and 1s."""
        f = exact_member(f, ParityFunction)
        return f is not None and is_array(f.a, (self.n,), np.uint8) and bool(np.all(f.a <= 1))

    def random_member(self, rng: np.random.Generator) -> ParityFunction:
        return ParityFunction(rng.integers(0, 2, size=self.n, dtype=np.uint8))

    def size(self) -> int:
        return 1 << self.n

    def members(self) -> Iterator[ParityFunction] | None:
        if self.n > MAX_ENUMERATED_N:
            return None
        return (ParityFunction(a) for a in _all_vectors(self.n, np.arange(1 << self.n, dtype=np.int64)))

    def exact_distance(self, f: Function, g: Function, dist: Distribution) -> float | None:
        if not self._is_cube(dist):
            return None
        return 0.0 if np.array_equal(unwrap(f).a, unwrap(g).a) else 0.5

    def cheapest_flip(self, f: Function, x: np.ndarray, dist: Distribution) -> ParityFunction | None:
        f = unwrap(f)
        x = as_bit_rows(np.asarray(x).reshape(1, -1), self.n)[0]
        if not x.any():
            return None
        if self._is_cube(dist):
            e = np.zeros(self.n, dtype=np.uint8)
            e[int(np.argmax(x))] = 1
            return ParityFunction(f.a ^ e)
        support = dist.support()
        if support is None or self.n > MAX_ENUMERATED_N:
            return None
        return ParityFunction(f.a ^ self._lightest_flipper(x, *support))

    def _lightest_flipper(self, x: np.ndarray, points: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """The h with <h, x> = 1 of least mass Pr[<h, p> = 1] (first in code order).

        g = f xor h flips x iff <h, x> = 1, and f, g differ exactly where h is 1, so the
        cheapest flip is f xor (the lightest such h): :func:`lightest_flip` over the
        labels of those h against the all-0 labelling. The labels are computed in
        blocks as a float matrix product (exact: the counts are at most n).
        """
        points = as_bit_rows(points, self.n).astype(np.float32)
        codes = np.arange(1 << self.n, dtype=np.int64)
        H = _all_vectors(self.n, codes)
        H = H[(H.astype(np.int64) @ x.astype(np.int64)) % 2 == 1]
        blocks = ((H[rows].astype(np.float32) @ points.T).astype(np.int64) & 1
                  for rows in row_blocks(len(H), len(points)))
        return H[lightest_flip(blocks, np.zeros(len(points), dtype=np.int64), probs)]

    def fit_member(self, X: np.ndarray, Y: np.ndarray) -> ParityFunction:
        """A parity consistent with the batch, by Gaussian elimination over GF(2).

        On realisable data it labels every example correctly. On contradictory labels
        (no consistent parity) it returns the solution of the pivot equations; exact
        empirical-risk minimisation is learning parity with noise, believed hard.
        """
        a, _ = solve_gf2(as_bit_rows(X, self.n), np.asarray(Y).reshape(-1))
        return ParityFunction(a)
