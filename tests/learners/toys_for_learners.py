"""Tiny explicit function classes for the learner tests, independent of the library's classes.

Points of the finite classes are integers in [0, M); ``Parities`` has 0/1 rows of
length n. Each class can enumerate its members, so every test can compare a learner
with a brute-force reference.
"""

from __future__ import annotations

import itertools

import numpy as np

from defendability.classes.base import Function, FunctionClass
from defendability.spaces import UniformCube, UniformDiscrete


class Row(Function):
    """A labelling of [0, M) stored as a 0/1 row: ``f(x) = row[x]``."""

    def __init__(self, row: np.ndarray):
        self.row = np.asarray(row, dtype=np.uint8)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.row[np.asarray(x, dtype=np.intp)]


def brute_vc_dimension(table: np.ndarray) -> int:
    """Largest size of a set of columns on which the rows of ``table`` take every pattern."""
    M = table.shape[1]
    best = 0
    for size in range(1, M + 1):
        found = False
        for cols in itertools.combinations(range(M), size):
            if len(np.unique(table[:, cols], axis=0)) == 1 << size:
                found = True
                break
        if not found:
            break
        best = size
    return best


class Explicit(FunctionClass):
    """The class whose members are the rows of ``table`` (``(|F|, M)`` 0/1).

    ``declared_vc`` overrides the brute-force VC dimension, to test how learners react
    to a class that states a wrong one.
    """

    name = "explicit"

    def __init__(self, table: np.ndarray, declared_vc: int | None = None):
        self.table = np.unique(np.asarray(table, dtype=np.uint8), axis=0)
        self.M = self.table.shape[1]
        self._vc = brute_vc_dimension(self.table) if declared_vc is None else declared_vc

    @property
    def vc_dimension(self) -> int:
        return self._vc

    @property
    def point_shape(self) -> tuple[int, ...]:
        return ()

    def default_distribution(self):
        return UniformDiscrete(self.M)

    def shattered_set(self) -> np.ndarray:
        for cols in itertools.combinations(range(self.M), self._vc):
            if len(np.unique(self.table[:, cols], axis=0)) == 1 << self._vc:
                return np.array(cols, dtype=np.int64)
        raise AssertionError("no shattered set of the declared size")

    def realise(self, points, labels) -> Function:
        ok = np.all(self.table[:, np.asarray(points)] == np.asarray(labels), axis=1)
        return Row(self.table[np.flatnonzero(ok)[0]])

    def contains(self, f: Function) -> bool:
        return isinstance(f, Row) and bool(np.any(np.all(self.table == f.row, axis=1)))

    def random_member(self, rng: np.random.Generator) -> Function:
        return Row(self.table[rng.integers(len(self.table))])

    def members(self):
        return (Row(r) for r in self.table)

    def size(self) -> int:
        return len(self.table)

    def fit_member(self, X: np.ndarray, Y: np.ndarray) -> Function:
        mistakes = (self.table[:, np.asarray(X, dtype=np.intp)] != np.asarray(Y)).sum(axis=1)
        return Row(self.table[int(np.argmin(mistakes))])


class SmallSubsets(Explicit):
    """Subsets of [0, M) with at most d elements (intersection-closed, VC dimension d)."""

    name = "small-subsets"

    def __init__(self, M: int = 6, d: int = 2):
        rows = [np.isin(np.arange(M), s).astype(np.uint8)
                for r in range(d + 1) for s in itertools.combinations(range(M), r)]
        super().__init__(np.array(rows))

    def closure_predict(self, X, Y, queries):
        # the smallest member containing the positives is the set of positives
        positive = np.zeros((X.shape[0], self.M), dtype=bool)
        v, i = np.nonzero(Y)
        positive[v, X[v, i]] = True
        return positive[:, queries].astype(np.uint8)


class DiscreteIntervals(Explicit):
    """Intervals {a..b} of [0, M) and the empty set (intersection-closed, VC dimension 2)."""

    name = "discrete-intervals"

    def __init__(self, M: int = 7):
        grid = np.arange(M)
        rows = [np.zeros(M, np.uint8)] + [((grid >= a) & (grid <= b)).astype(np.uint8)
                                           for a in range(M) for b in range(a, M)]
        super().__init__(np.array(rows))

    def closure_predict(self, X, Y, queries):
        pos = Y.astype(bool)
        low = np.where(pos, X, self.M).min(axis=1, initial=self.M)
        high = np.where(pos, X, -1).max(axis=1, initial=-1)
        return ((queries[None, :] >= low[:, None]) & (queries[None, :] <= high[:, None])).astype(np.uint8)


class ParityMember(Function):
    """x -> <a, x> mod 2 on 0/1 rows."""

    def __init__(self, a: np.ndarray):
        self.a = np.asarray(a, dtype=np.uint8)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, dtype=np.int64) @ self.a.astype(np.int64)) % 2).astype(np.uint8)


class Parities(FunctionClass):
    """Parities over GF(2)^n (VC dimension n); members enumerable for small n."""

    name = "test-parities"

    def __init__(self, n: int = 4):
        self.n = n

    @property
    def vc_dimension(self) -> int:
        return self.n

    @property
    def point_shape(self) -> tuple[int, ...]:
        return (self.n,)

    def default_distribution(self):
        return UniformCube(self.n)

    def shattered_set(self) -> np.ndarray:
        return np.eye(self.n, dtype=np.uint8)

    def realise(self, points, labels) -> Function:
        return ParityMember(np.asarray(labels, dtype=np.uint8))

    def contains(self, f: Function) -> bool:
        return isinstance(f, ParityMember) and f.a.shape == (self.n,)

    def random_member(self, rng: np.random.Generator) -> Function:
        return ParityMember(rng.integers(0, 2, self.n, dtype=np.uint8))

    def all_vectors(self) -> np.ndarray:
        return np.array(list(itertools.product((0, 1), repeat=self.n)), dtype=np.uint8)

    def members(self):
        return (ParityMember(a) for a in self.all_vectors())


class NotEnumerable(Explicit):
    """An explicit class that hides its members and its minimiser, as infinite classes do."""

    name = "not-enumerable"

    def members(self):
        return None

    def fit_member(self, X, Y):
        return FunctionClass.fit_member(self, X, Y)
