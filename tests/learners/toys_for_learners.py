"""Tiny function classes for the learner tests, independent of the library's classes.

Points of the finite classes are integers in [0, M) (the explicit tables of ``toys``);
``Parities`` has 0/1 rows of length n. Each class can enumerate its members, so every
test can compare a learner with a brute-force reference.
"""

from __future__ import annotations

import itertools

import numpy as np

from defendability.classes.base import Function, FunctionClass
from defendability.spaces import UniformCube
from toys import ToySets, ToyTable


class SmallSubsets(ToySets):
    """Subsets of [0, M) with at most d elements (intersection-closed, VC dimension d),
    rows in lexicographic order."""

    name = "small-subsets"

    def __init__(self, M: int = 6, d: int = 2):
        super().__init__(M, d, unique=True)


class DiscreteIntervals(ToyTable):
    """Intervals {a..b} of [0, M) and the empty set (intersection-closed, VC dimension 2)."""

    name = "discrete-intervals"

    def __init__(self, M: int = 7):
        grid = np.arange(M)
        rows = [np.zeros(M, np.uint8)] + [((grid >= a) & (grid <= b)).astype(np.uint8)
                                           for a in range(M) for b in range(a, M)]
        super().__init__(np.array(rows), unique=True)

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


class NotEnumerable(ToyTable):
    """An explicit class that hides its members and its minimiser, as infinite classes do."""

    name = "not-enumerable"

    def __init__(self, rows):
        super().__init__(rows, unique=True)

    def members(self):
        return None

    def fit_member(self, X, Y):
        return FunctionClass.fit_member(self, X, Y)
