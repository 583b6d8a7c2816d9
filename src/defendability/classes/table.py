"""An explicit finite class: a table of labellings of the domain {0..N-1}."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np

from ..errors import ParameterError, check
from ..registry import register
from ..spaces import Distribution
from .base import (
    Function,
    FunctionClass,
    IntegerDomain,
    exact_member,
    is_array,
    lightest_flip,
    unwrap,
)
from .subsets import as_integer_points

#: Largest domain: the VC dimension is found by brute force over subsets of [N].
MAX_N = 16

#: Entries of a (rows x sets) or (sets x patterns) block checked at once (bounds memory).
_CHUNK = 1 << 22


class TableFunction(Function):
    """x -> row[x] on {0..N-1}. Representation: ``row``, the ``(N,)`` uint8 labelling.

    A batch ``(m,)`` of integers gives ``(m,)`` uint8; a point outside [0, N) raises
    ``ValueError`` (a table labels its domain only; there is no natural label outside).
    ``N`` is ``len(row)``; evaluation reads ``row`` only.
    """

    def __init__(self, row: np.ndarray):
        self.row = np.asarray(row, dtype=np.uint8).reshape(-1).copy()

    @property
    def N(self) -> int:
        return len(self.row)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = as_integer_points(x)
        if x.size and (x.min() < 0 or x.max() >= self.N):
            raise ValueError(f"table points must lie in [0, {self.N}), got values in [{x.min()}, {x.max()}]")
        return self.row[x]

    def key(self) -> tuple:
        return ("table", self.N, self.row.tobytes())

    def __repr__(self) -> str:
        return f"TableFunction({''.join(map(str, self.row.tolist()))})"


def _shattered(rows: np.ndarray, sets: np.ndarray) -> np.ndarray:
    """Which candidate sets ``(c, j)`` (column indices) the rows ``(m, N)`` shatter.

    A set of j columns is shattered iff the rows show all 2^j patterns on it: each
    row's pattern is coded as an integer below 2^j and the distinct codes of each set
    are counted with one ``bincount`` over a block of sets (bins offset by set).
    """
    m, j = rows.shape[0], sets.shape[1]
    columns = np.ascontiguousarray(rows.T, dtype=np.uint16)  # codes stay below 2^16: N <= 16
    out = np.empty(len(sets), dtype=bool)
    step = max(1, min(_CHUNK // max(1, m), _CHUNK // (1 << j)))
    for start in range(0, len(sets), step):
        block = sets[start:start + step]
        codes = np.zeros((len(block), m), dtype=np.uint16)
        for i in range(j):
            codes |= columns[block[:, i]] << np.uint16(i)
        codes = codes.astype(np.intp) + (np.arange(len(block), dtype=np.intp) << j)[:, None]
        seen = np.bincount(codes.ravel(), minlength=len(block) << j).reshape(len(block), 1 << j)
        out[start:start + step] = np.all(seen > 0, axis=1)
    return out


def largest_shattered_set(rows: np.ndarray) -> np.ndarray:
    """A largest set of domain points shattered by the rows ``(m, N)``, as indices.

    Level-wise search: a set can only be shattered if every subset one smaller is, so
    the candidates of size j + 1 are the shattered sets of size j extended by a larger
    point, kept only when all their j-subsets are shattered. The search stops at the
    first empty level, and never goes past floor(log2 m) (shattering j points takes
    2^j rows). Going up from small sets, rather than down from large ones, lets every
    level prune the next. Cost: at most sum_{j <= d+1} C(N, j) candidate sets (at most
    2^16 for N <= 16), each checked in O(m j) numpy work; measured for N = 16 on one
    core: about 1 s with 2,000 rows, 10 s with 20,000 and 30 s with all 65,536. Ties:
    the first set in lexicographic order.
    """
    m, N = rows.shape
    limit = min(N, max(0, m.bit_length() - 1))  # floor(log2 m), exactly
    level = [()]  # the empty set is shattered by any non-empty class
    for j in range(1, limit + 1):
        known = set(level)
        candidates = [s + (p,) for s in level for p in range((s[-1] + 1) if s else 0, N)
                      if all(s[:i] + s[i + 1:] + (p,) in known for i in range(len(s)))]
        if not candidates:
            break
        ok = _shattered(rows, np.array(candidates, dtype=np.int64).reshape(len(candidates), j))
        nxt = [c for c, good in zip(candidates, ok) if good]
        if not nxt:
            break
        level = nxt
    return np.array(level[0], dtype=np.int64)


@functools.lru_cache(maxsize=16)
def _largest_shattered(rows: bytes, shape: tuple[int, int]) -> np.ndarray:
    """:func:`largest_shattered_set` of the table with these rows (read-only)."""
    found = largest_shattered_set(np.frombuffer(rows, dtype=np.uint8).reshape(shape))
    found.setflags(write=False)
    return found


@register("classes", "table")
class Table(IntegerDomain, FunctionClass):
    """An explicit finite class: distinct labellings (rows) of {0..N-1}, for tiny exhaustive runs.

    Points are integer scalars in [0, N) (``point_shape == ()``); a member is a
    :class:`TableFunction` (one row). From a SPEC it holds ``size`` distinct labellings
    drawn uniformly at random (without replacement among the 2^N) with ``seed``;
    ``Table.from_rows(rows)`` builds it from an explicit ``(m, N)`` 0/1 array, one member
    per distinct row, in order of first appearance. N <= 16.

    The VC dimension and a largest shattered set are found by brute force (see
    :func:`largest_shattered_set`), once, on first use. ``realise`` returns the first
    row with the requested labels on the given points (``ParameterError`` if none);
    ``members()`` yields every row; ``random_member`` is uniform over rows; the default
    distribution is uniform on [N]. ``cheapest_flip`` is an exact search over the rows
    on a finite support; ``fit_member`` returns the first row of least empirical error
    (an exact empirical-risk minimiser).
    """

    test_spec = "table:N=4,size=6"

    def __init__(self, N: int = 8, size: int = 32, seed: int = 0):
        check(1 <= N <= MAX_N, f"table: N must be in [1, {MAX_N}], got N={N}")
        check(1 <= size <= 2 ** N, f"table: size must be in [1, 2^N={2 ** N}], got size={size}")
        check(seed >= 0, f"table: seed must be >= 0, got seed={seed}")
        self.N, self.seed = int(N), int(seed)
        codes = np.sort(np.random.default_rng(seed).choice(2 ** N, size=size, replace=False))
        self._set_rows(((codes[:, None] >> np.arange(N)) & 1).astype(np.uint8))

    @classmethod
    def from_rows(cls, rows: np.ndarray) -> Table:
        """The class of the distinct rows of ``rows`` (``(m, N)`` 0/1, 1 <= N <= 16)."""
        rows = np.asarray(rows)
        check(rows.ndim == 2 and rows.shape[0] >= 1 and 1 <= rows.shape[1] <= MAX_N,
              f"table: rows must be a non-empty (m, N) array with 1 <= N <= {MAX_N}, got shape {rows.shape}")
        check(bool(np.all((rows == 0) | (rows == 1))), "table: rows must hold only 0 and 1")
        table = cls.__new__(cls)
        table.N, table.seed = int(rows.shape[1]), None
        _, first = np.unique(rows.astype(np.uint8), axis=0, return_index=True)
        table._set_rows(rows[np.sort(first)].astype(np.uint8))
        return table

    def _set_rows(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.rows.setflags(write=False)
        self._index = {r.tobytes(): i for i, r in enumerate(rows)}

    @property
    def _shattered_set(self) -> np.ndarray:
        # cached per table, not per instance: the referee hands players fresh copies
        return _largest_shattered(self.rows.tobytes(), self.rows.shape)

    @property
    def vc_dimension(self) -> int:
        return len(self._shattered_set)

    def shattered_set(self) -> np.ndarray:
        return self._shattered_set.copy()

    def realise(self, points: np.ndarray, labels: np.ndarray) -> TableFunction:
        points = as_integer_points(points).reshape(-1)
        labels = np.asarray(labels).reshape(-1)
        check(len(points) == len(labels), "table: realise needs one label per point")
        check(len(points) == 0 or (points.min() >= 0 and points.max() < self.N),
              f"table: points must lie in [0, N={self.N})")
        match = np.flatnonzero(np.all(self.rows[:, points] == labels, axis=1))
        if len(match) == 0:
            raise ParameterError("table: no row of the table has these labels on these points")
        return TableFunction(self.rows[match[0]])

    def contains(self, f: Function) -> bool:
        """A :class:`TableFunction` exactly (no subclass) whose ``row`` is a plain
        ``(N,)`` uint8 array equal to a row of the table."""
        f = exact_member(f, TableFunction)
        return f is not None and is_array(f.row, (self.N,), np.uint8) and f.row.tobytes() in self._index

    def random_member(self, rng: np.random.Generator) -> TableFunction:
        return TableFunction(self.rows[rng.integers(len(self.rows))])

    def size(self) -> int:
        return len(self.rows)

    def members(self) -> Iterator[TableFunction]:
        return (TableFunction(r) for r in self.rows)

    def cheapest_flip(self, f: Function, x: np.ndarray, dist: Distribution) -> TableFunction | None:
        """Exact search over the rows (the base class's search on the rows already in
        memory, :func:`lightest_flip`): the first row of least mass of disagreement
        among those that flip x; ``None`` without a finite support or when no row
        flips x."""
        support = dist.support()
        if support is None:
            return None
        f = unwrap(f)
        points, probs = support
        points = as_integer_points(points).reshape(-1)
        x = int(as_integer_points(np.asarray(x)).reshape(()))
        flips = self.rows[:, x] != f(np.array([x]))[0]
        if not flips.any():
            return None
        candidates = self.rows[flips]
        return TableFunction(candidates[lightest_flip(candidates[:, points], f(points), probs)])

    def fit_member(self, X: np.ndarray, Y: np.ndarray) -> TableFunction:
        """The first row with the fewest mistakes on the batch (exact minimiser)."""
        X = as_integer_points(X).reshape(-1)
        Y = np.asarray(Y).reshape(-1)
        errors = np.count_nonzero(self.rows[:, X] != Y[None, :], axis=1)
        return TableFunction(self.rows[int(np.argmin(errors))])

    def get_params(self) -> dict[str, object]:
        """``N``, ``size`` (the number of rows: ``size`` is also the method counting
        members, so the parameter is not stored under its name) and ``seed`` (``None``
        for a table built by :meth:`from_rows`)."""
        return {"N": self.N, "size": len(self.rows), "seed": self.seed}

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name, "N": self.N, "size": len(self.rows)}
        if self.seed is not None:
            out["seed"] = self.seed
        else:
            out["source"] = "rows"
        return out
