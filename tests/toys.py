"""Tiny function classes shared by the tests, independent of the library's classes.

- :class:`Labelling`: a function on {0..M-1} given by its table of labels.
- :class:`ToyTable`: an explicit finite class, one member per row of a 0/1 table.
- :class:`ToySets`: the subsets of {0..M-1} with at most d elements, as a table.
- :class:`Step`, :class:`ToyThresholds`: thresholds on [0, 1), a class that cannot be
  enumerated.
- :func:`brute_force_vc`, :func:`is_shattered`: VC dimension and shattering, by
  checking every subset of points.

Test folders import these by module name (``from toys import ToyTable``): ``tests`` is
on pytest's ``pythonpath``.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from defendability.classes.base import Function, FunctionClass
from defendability.spaces import Distribution, UniformDiscrete, UniformInterval


def is_shattered(labels: np.ndarray, subset: tuple[int, ...] | np.ndarray) -> bool:
    """Whether the rows of ``labels`` (``(M, P)``) take every pattern on the points ``subset``."""
    patterns = {row.tobytes() for row in np.asarray(labels, dtype=np.uint8)[:, list(subset)]}
    return len(patterns) == 2 ** len(subset)


def brute_force_vc(labels: np.ndarray) -> tuple[int, tuple[int, ...]]:
    """VC dimension of the distinct rows of ``labels`` (``(M, P)``) and a shattered set
    of that size (point indices), by checking every subset of the P points."""
    labels = np.unique(np.asarray(labels, dtype=np.uint8), axis=0)
    best: tuple[int, ...] = ()
    for size in range(1, labels.shape[1] + 1):
        found = None
        for subset in itertools.combinations(range(labels.shape[1]), size):
            if len({row.tobytes() for row in labels[:, subset]}) == 2 ** size:
                found = subset
                break
        if found is None:
            break
        best = found
    return len(best), best


class Labelling(Function):
    """A function on the domain {0..M-1} given by its table of labels: ``f(x) = bits[x]``."""

    def __init__(self, bits):
        self.bits = tuple(int(b) for b in bits)

    def __call__(self, x):
        return np.asarray(self.bits, dtype=np.uint8)[np.asarray(x, dtype=np.int64)]


class ToyTable(FunctionClass):
    """An explicit finite class over {0..M-1}: one :class:`Labelling` per row of a 0/1 table.

    ``rows`` keep the order given (``members()`` and ``random_member`` follow it);
    ``unique=True`` replaces them by ``np.unique(rows, axis=0)``: each distinct row once,
    in lexicographic order. ``declared_vc`` overrides the brute-force VC dimension, to
    test how components react to a class that states a wrong one.
    """

    name = "toy-table"

    def __init__(self, rows, declared_vc: int | None = None, unique: bool = False):
        rows = np.asarray(rows, dtype=np.uint8)
        self.rows = np.unique(rows, axis=0) if unique else rows
        self.M = self.rows.shape[1]
        self._vc = brute_force_vc(self.rows)[0] if declared_vc is None else declared_vc

    @property
    def vc_dimension(self) -> int:
        return self._vc

    @property
    def point_shape(self) -> tuple[int, ...]:
        return ()

    def default_distribution(self) -> Distribution:
        return UniformDiscrete(self.M)

    def shattered_set(self) -> np.ndarray:
        for cols in itertools.combinations(range(self.M), self._vc):
            if is_shattered(self.rows, cols):
                return np.array(cols, dtype=np.int64)
        raise AssertionError("no shattered set of the declared size")

    def realise(self, points, labels) -> Function:
        ok = np.all(self.rows[:, np.asarray(points)] == np.asarray(labels), axis=1)
        return Labelling(self.rows[np.flatnonzero(ok)[0]])

    def contains(self, f: Function) -> bool:
        return (isinstance(f, Labelling) and len(f.bits) == self.M
                and bool(np.any(np.all(self.rows == np.asarray(f.bits, dtype=np.uint8), axis=1))))

    def random_member(self, rng: np.random.Generator) -> Function:
        return Labelling(self.rows[rng.integers(len(self.rows))])

    def members(self):
        return (Labelling(r) for r in self.rows)

    def size(self) -> int:
        return len(self.rows)

    def fit_member(self, X: np.ndarray, Y: np.ndarray) -> Function:
        mistakes = (self.rows[:, np.asarray(X, dtype=np.intp)] != np.asarray(Y)).sum(axis=1)
        return Labelling(self.rows[int(np.argmin(mistakes))])


class ToySets(ToyTable):
    """Indicators of the subsets of {0..M-1} with at most d elements (VC dimension d,
    intersection-closed).

    Rows (members) in order of size, then lexicographically; ``unique=True`` puts them in
    ``np.unique``'s lexicographic order instead. The table is built on first use, so a
    large class costs nothing to tests that only read its VC dimension or shattered set.
    The shattered set is {0..d-1}; ``random_member`` draws a size, then a set of that
    size; ``cheapest_flip`` searches all members (exact on finite supports);
    ``closure_predict`` returns the positives (the smallest member containing them).
    """

    name = "toy-sets"

    def __init__(self, M: int = 8, d: int = 3, unique: bool = False):
        # ToyTable.__init__ is skipped on purpose: ``rows`` is built on first use
        self.M, self.d, self.unique = M, d, unique
        self._vc = d

    @functools.cached_property
    def rows(self) -> np.ndarray:
        rows = np.array([np.isin(np.arange(self.M), s) for j in range(self.d + 1)
                         for s in itertools.combinations(range(self.M), j)], dtype=np.uint8)
        return np.unique(rows, axis=0) if self.unique else rows

    def shattered_set(self):
        return np.arange(self.d)

    def indicator(self, elements) -> Labelling:
        bits = np.zeros(self.M, dtype=np.uint8)
        bits[list(elements)] = 1
        return Labelling(bits)

    def realise(self, points, labels):
        points, labels = np.asarray(points), np.asarray(labels)
        assert set(points.tolist()) <= set(range(self.d)), "realise outside the shattered set"
        return self.indicator(points[labels == 1].tolist())

    def contains(self, f):
        return isinstance(f, Labelling) and len(f.bits) == self.M and sum(f.bits) <= self.d

    def random_member(self, rng):
        size = int(rng.integers(0, self.d + 1))
        return self.indicator(rng.choice(self.M, size=size, replace=False).tolist())

    def size(self):
        return sum(math.comb(self.M, j) for j in range(self.d + 1))

    def cheapest_flip(self, f, x, dist):
        points, probs = dist.support()
        target = 1 - int(f(np.asarray(x)[None])[0])
        best, best_cost = None, math.inf
        for h in self.members():
            if int(h(np.asarray(x)[None])[0]) != target:
                continue
            cost = float(probs[h(points) != f(points)].sum())
            if cost < best_cost:
                best, best_cost = h, cost
        return best

    def closure_predict(self, X, Y, queries):
        # the smallest member containing the positives is the set of positives
        positive = np.zeros((X.shape[0], self.M), dtype=bool)
        v, i = np.nonzero(Y)
        positive[v, X[v, i]] = True
        return positive[:, queries].astype(np.uint8)


class Step(Function):
    """x -> [x >= theta] on the real line."""

    def __init__(self, theta: float):
        self.theta = float(theta)

    def __call__(self, x):
        return (np.asarray(x, dtype=float) >= self.theta).astype(np.uint8)


class ToyThresholds(FunctionClass):
    """Thresholds on [0, 1): not enumerable, no finite support and no closed-form distance.

    ``cheapest_flip`` moves theta just past x. ``fit_member`` (ERM, counted in ``fits``)
    puts theta halfway across the gap with the fewest mistakes; ``erm=False`` refuses it.
    """

    name = "toy-thresholds"

    def __init__(self, erm: bool = True):
        self.erm = erm
        self.fits = 0

    @property
    def vc_dimension(self):
        return 1

    @property
    def point_shape(self):
        return ()

    def default_distribution(self) -> Distribution:
        return UniformInterval(0.0, 1.0)

    def shattered_set(self):
        return np.array([0.5])

    def realise(self, points, labels):
        return Step(0.5 if int(np.asarray(labels)[0]) == 1 else 2.0)

    def contains(self, f):
        return isinstance(f, Step)

    def random_member(self, rng):
        return Step(float(rng.random()))

    def cheapest_flip(self, f, x, dist):
        x = float(x)
        return Step(x + 1e-9) if x >= f.theta else Step(x)

    def fit_member(self, X, Y):
        if not self.erm:
            raise TypeError("no ERM")
        self.fits += 1
        order = np.sort(np.asarray(X, dtype=float))
        labels = np.asarray(Y)[np.argsort(np.asarray(X, dtype=float))]
        # the threshold with the fewest mistakes among the gaps of the sorted sample
        mistakes = np.concatenate([[0], np.cumsum(labels == 1)]) + np.concatenate(
            [np.cumsum((labels == 0)[::-1])[::-1], [0]])
        cut = int(np.argmin(mistakes))
        edges = np.concatenate([[-1.0], order, [2.0]])
        return Step((edges[cut] + edges[cut + 1]) / 2)
