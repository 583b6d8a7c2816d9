"""Subsets of [N] of size at most d: the intersection-closed class of the lower bounds."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np
from scipy.special import gammaln

from ..errors import check
from ..registry import register
from ..spaces import Distribution
from .base import Function, FunctionClass, IntegerDomain, exact_member, is_array, unwrap

#: ``members()`` enumerates the class only up to this many members.
MAX_ENUMERATED = 200_000

#: Largest domain: a member keeps an N-byte label mask, so N is bounded (64 MiB a member).
MAX_N = 1 << 26

#: Voter-by-query comparisons done at once by ``closure_predict`` (bounds its memory).
_CHUNK = 1 << 22


def as_integer_points(x: np.ndarray) -> np.ndarray:
    """Integer points as int64; floats are accepted only when they hold whole numbers.

    Raises ``ValueError`` for fractional or non-numeric points, which belong to no
    integer domain (silently truncating them would change the function).
    """
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.integer) or x.dtype == bool:
        return x.astype(np.int64, copy=False)
    if np.issubdtype(x.dtype, np.floating) and bool(np.all(np.isfinite(x) & (x == np.round(x)))):
        return x.astype(np.int64)
    raise ValueError(f"points of an integer domain must be whole numbers, got dtype {x.dtype}")


class SubsetFunction(Function):
    """The indicator of a set S of integers in [0, N): x -> [x in S].

    Representation: ``elements``, the sorted distinct members of S (int64), and ``N``.
    Points are integer scalars; a batch of shape ``(m,)`` gives ``(m,)`` uint8. Points
    outside [0, N) get label 0: a subset of [N] contains none of them. Evaluation reads
    ``_mask``, the ``(N,)`` uint8 indicator of S built from ``elements``: a cache, which
    :meth:`Subsets.contains` checks against ``elements``.
    """

    def __init__(self, elements: np.ndarray, N: int):
        self.elements = np.unique(np.asarray(elements, dtype=np.int64))
        self.N = int(N)
        if len(self.elements) and (self.elements[0] < 0 or self.elements[-1] >= self.N):
            raise ValueError(f"subset elements must lie in [0, {self.N}), got {self.elements.tolist()}")
        self._mask = np.zeros(self.N, dtype=np.uint8)
        self._mask[self.elements] = 1

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = as_integer_points(x)
        inside = (x >= 0) & (x < self.N)
        return np.where(inside, self._mask[np.where(inside, x, 0)], 0).astype(np.uint8)

    def key(self) -> tuple:
        return ("subset", self.N, tuple(self.elements.tolist()))

    def __len__(self) -> int:
        return len(self.elements)

    def __repr__(self) -> str:
        return f"SubsetFunction({self.elements.tolist()}, N={self.N})"


@register("classes", "subsets")
class Subsets(IntegerDomain, FunctionClass):
    """Subsets of [N] = {0..N-1} of size at most d (intersection-closed, VC dimension d).

    Points are integer scalars (``point_shape == ()``, int64 arrays); a member is a
    :class:`SubsetFunction`. The class shatters any d points, and no d + 1 (labelling
    them all 1 needs a set of size d + 1), so VC = d; the shattered set is
    ``arange(d)``. The default distribution is uniform on [N]. This is the class of the
    lower bounds L1 and L2 of THEORY.md §2.1 (derived) and of the closure learner with
    e(k) <= d/(k+1) (§4.3): it is intersection-closed, and the smallest member holding
    a batch's positives is the set of those positives.

    ``random_member`` is uniform over all members (the size j is drawn with probability
    proportional to C(N, j)); ``size()`` = sum_{j<=d} C(N, j); ``members()`` enumerates
    the class when that is at most 200,000, else ``None``. ``cheapest_flip`` is exact
    on finite distributions; ``fit_member`` is an exact empirical-risk minimiser.
    """

    test_spec = "subsets:N=12,d=3"

    def __init__(self, N: int = 64, d: int = 16):
        check(1 <= N <= MAX_N, f"subsets: N must be in [1, 2^26={MAX_N}], got N={N}")
        check(1 <= d <= N, f"subsets: d must satisfy 1 <= d <= N={N}, got d={d}")
        self.N, self.d = int(N), int(d)

    @property
    def vc_dimension(self) -> int:
        return self.d

    def shattered_set(self) -> np.ndarray:
        return np.arange(self.d, dtype=np.int64)

    def member(self, elements: np.ndarray | list[int]) -> SubsetFunction:
        """The member with the given elements (raises ``ParameterError`` if it is none)."""
        elements = np.unique(as_integer_points(np.asarray(elements).reshape(-1)))
        check(len(elements) == 0 or (elements[0] >= 0 and elements[-1] < self.N),
              f"subsets: elements must lie in [0, N={self.N}), got {elements.tolist()}")
        check(len(elements) <= self.d,
              f"subsets: a member has at most d={self.d} elements, got {len(elements)}")
        return SubsetFunction(elements, self.N)

    def realise(self, points: np.ndarray, labels: np.ndarray) -> SubsetFunction:
        """The set of the points labelled 1 (any points of [N], at most d of them)."""
        points = as_integer_points(points).reshape(-1)
        labels = np.asarray(labels).reshape(-1)
        check(len(points) == len(labels), "subsets: realise needs one label per point")
        positives = points[labels == 1]
        # Python sets: the shattered sets realised here are small, where np.isin is slow.
        check(set(positives.tolist()).isdisjoint(points[labels != 1].tolist()),
              "subsets: realise got a point labelled both 0 and 1")
        return self.member(positives)

    def contains(self, f: Function) -> bool:
        """A :class:`SubsetFunction` exactly (no subclass) over this N, with at most d
        sorted distinct elements in [0, N), whose evaluation mask ``_mask`` is the
        indicator of ``elements`` (a tampered cache would evaluate another set)."""
        f = exact_member(f, SubsetFunction)
        if f is None or type(f.N) is not int or f.N != self.N:
            return False
        e = f.elements
        if not (type(e) is np.ndarray and e.ndim == 1 and e.dtype == np.int64 and len(e) <= self.d
                and bool(np.all(np.diff(e) > 0)) and (len(e) == 0 or (e[0] >= 0 and e[-1] < self.N))):
            return False
        # the mask is the indicator of e: 1 at every element and no other non-zero entry
        mask = f._mask
        return (is_array(mask, (self.N,), np.uint8) and bool(np.all(mask[e] == 1))
                and int(np.count_nonzero(mask)) == len(e))

    def random_member(self, rng: np.random.Generator) -> SubsetFunction:
        j = np.arange(self.d + 1)
        # log C(N, j) keeps the weights finite for large N
        logw = gammaln(self.N + 1) - gammaln(j + 1) - gammaln(self.N - j + 1)
        w = np.exp(logw - logw.max())
        size = int(rng.choice(j, p=w / w.sum()))
        return SubsetFunction(rng.choice(self.N, size=size, replace=False), self.N)

    def size(self) -> int:
        return sum(math.comb(self.N, j) for j in range(self.d + 1))

    def members(self) -> Iterator[SubsetFunction] | None:
        count = 0
        for j in range(self.d + 1):  # stop counting as soon as the class is too large
            count += math.comb(self.N, j)
            if count > MAX_ENUMERATED:
                return None
        return (SubsetFunction(np.array(c, dtype=np.int64), self.N)
                for j in range(self.d + 1) for c in itertools.combinations(range(self.N), j))

    def point_masses(self, dist: Distribution) -> np.ndarray | None:
        """Mass of each point of [N] under ``dist``, shape ``(N,)``; ``None`` without a
        finite support."""
        support = dist.support()
        if support is None:
            return None
        points, probs = support
        points = as_integer_points(points).reshape(-1)
        inside = (points >= 0) & (points < self.N)
        mass = np.zeros(self.N)
        np.add.at(mass, points[inside], probs[inside])
        return mass

    def cheapest_flip(self, f: Function, x: np.ndarray, dist: Distribution) -> SubsetFunction | None:
        """Exact: remove x if in S (cost mass(x)); else add x if |S| < d (cost mass(x));
        else add x and drop the element of S of least mass (ties: the smallest element).

        The last case needs the masses, so it returns ``None`` for a distribution without
        a finite support; a point outside [N] cannot be added and also gives ``None``.
        """
        f = unwrap(f)
        x = int(as_integer_points(np.asarray(x)).reshape(()))
        elements = f.elements
        if x in set(elements.tolist()):
            return SubsetFunction(elements[elements != x], self.N)
        if not 0 <= x < self.N:
            return None
        if len(elements) < self.d:
            return SubsetFunction(np.append(elements, x), self.N)
        mass = self.point_masses(dist)
        if mass is None:
            return None
        drop = elements[int(np.argmin(mass[elements]))]
        return SubsetFunction(np.append(elements[elements != drop], x), self.N)

    def closure_predict(self, X: np.ndarray, Y: np.ndarray, queries: np.ndarray) -> np.ndarray:
        """1 iff the query equals a point of the voter's batch labelled 1.

        ``X``: ``(V, k)`` integer points, ``Y``: ``(V, k)``, ``queries``: ``(Q,)``;
        returns ``(V, Q)`` uint8. Each (voter, point) pair is encoded as one integer
        ``v * N + x`` and looked up in the sorted codes of the positives, in chunks of
        voters so that memory stays bounded for large V * Q. Positives outside [N] (no
        member contains them) are ignored, and queries outside [N] get 0.
        """
        X = as_integer_points(X)
        Y = np.asarray(Y)
        queries = as_integer_points(queries).reshape(-1)
        V = X.shape[0]
        positive = (Y == 1) & (X >= 0) & (X < self.N)
        if X.size * len(queries) <= _CHUNK:
            # Few queries (the game scores one input): compare directly, no sorting.
            hit = (X[:, :, None] == queries[None, None, :]) & positive[:, :, None]
            return hit.any(axis=1).astype(np.uint8)
        voter = np.broadcast_to(np.arange(V, dtype=np.int64)[:, None], X.shape)
        codes = np.unique(voter[positive] * self.N + X[positive])
        inside = (queries >= 0) & (queries < self.N)
        q = np.where(inside, queries, 0)
        out = np.zeros((V, len(queries)), dtype=np.uint8)
        if len(codes) == 0 or len(queries) == 0:
            return out
        step = max(1, _CHUNK // len(queries))
        for start in range(0, V, step):
            stop = min(V, start + step)
            wanted = np.arange(start, stop, dtype=np.int64)[:, None] * self.N + q[None, :]
            pos = np.minimum(np.searchsorted(codes, wanted), len(codes) - 1)
            out[start:stop] = (codes[pos] == wanted) & inside[None, :]
        return out

    def fit_member(self, X: np.ndarray, Y: np.ndarray) -> SubsetFunction:
        """Exact empirical-risk minimiser: keep a point of [N] iff it is labelled 1 more
        often than 0 in the batch, at most d of them (largest surplus first, ties to the
        smaller point). On realisable data this is the set of positives."""
        X = as_integer_points(X).reshape(-1)
        Y = np.asarray(Y).reshape(-1)
        inside = (X >= 0) & (X < self.N)
        surplus = np.zeros(self.N, dtype=np.int64)
        np.add.at(surplus, X[inside], np.where(Y[inside] == 1, 1, -1))
        candidates = np.flatnonzero(surplus > 0)
        order = np.argsort(-surplus[candidates], kind="stable")
        return SubsetFunction(candidates[order[: self.d]], self.N)
