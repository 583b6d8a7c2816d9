"""Conjunctions of literals over {0,1}^n."""

from __future__ import annotations

import math
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
from .parities import as_bit_rows

#: ``members()`` and the exhaustive ``cheapest_flip`` enumerate the 3^n + 1 members
#: only up to this many.
MAX_ENUMERATED = 200_000

#: Largest n of the class (bounds the work of evaluation and of the closure).
MAX_N = 4096


class ConjunctionFunction(Function):
    """x -> AND_{i in pos} x_i AND AND_{i in neg} NOT x_i on {0,1}^n.

    Representation: ``pos`` and ``neg``, ``(n,)`` bool masks of the positive and the
    negated literals. A variable in both makes the conjunction the constant 0; the
    empty conjunction is the constant 1. Equality compares the masks, so distinct
    contradictory masks are distinct representations of the same function
    (:meth:`zero` is the canonical one). A batch ``(m, n)`` of 0/1 rows gives ``(m,)``
    uint8. ``n`` is ``len(pos)``; evaluation reads ``pos`` and ``neg`` only.
    """

    def __init__(self, pos: np.ndarray, neg: np.ndarray):
        self.pos = np.asarray(pos, dtype=bool).reshape(-1).copy()
        self.neg = np.asarray(neg, dtype=bool).reshape(-1).copy()
        if self.pos.shape != self.neg.shape:
            raise ValueError(f"pos and neg must have the same length, got {len(self.pos)} and {len(self.neg)}")

    @property
    def n(self) -> int:
        return len(self.pos)

    @classmethod
    def zero(cls, n: int) -> ConjunctionFunction:
        """The canonical constant-0 conjunction: every variable both positive and negated."""
        return cls(np.ones(n, dtype=bool), np.ones(n, dtype=bool))

    @property
    def contradictory(self) -> bool:
        return bool(np.any(self.pos & self.neg))

    @property
    def literals(self) -> int:
        return int(self.pos.sum() + self.neg.sum())

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = as_bit_rows(x, self.n)
        ok = x[:, self.pos].all(axis=1) & ~x[:, self.neg].any(axis=1)
        return ok.astype(np.uint8)

    def key(self) -> tuple:
        return ("conjunction", self.n, self.pos.tobytes(), self.neg.tobytes())

    def __repr__(self) -> str:
        if self.contradictory:
            return "ConjunctionFunction(0)"
        lits = [f"x{i}" if self.pos[i] else f"!x{i}" for i in range(self.n) if self.pos[i] or self.neg[i]]
        return "ConjunctionFunction(" + (" & ".join(lits) or "1") + ")"


def _satisfied(pos: np.ndarray, neg: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``(M, m)`` bool: which of M conjunctions (``(M, n)`` masks) each point satisfies.

    A point satisfies a conjunction iff it violates none of its literals; violations
    are counted by one matrix product (float32 is exact: counts are at most 2n).
    """
    p = points.astype(np.float32)
    violations = pos.astype(np.float32) @ (1.0 - p).T + neg.astype(np.float32) @ p.T
    return violations == 0


@register("classes", "conjunctions")
class Conjunctions(CubeDomain, FunctionClass):
    """Conjunctions of literals over {0,1}^n (VC dimension n for n >= 2; 2 for n = 1).

    Points are 0/1 rows of length n (``point_shape == (n,)``, uint8); a member is a
    :class:`ConjunctionFunction`. VC >= n: the rows e'_i = all-ones except position i
    are shattered, realising a labelling by pos = {i : label_i = 0} (e'_i violates x_i
    and satisfies every other positive literal). VC <= n for n >= 2: if a set S with
    |S| >= 3 is shattered, for each s in S some conjunction rejects s and accepts
    S - {s}, so one of its literals l_s is false on s and true on the rest of S; the
    literals of two points cannot sit on one variable (x_v false only on s and NOT x_v
    false only on t would leave a third point both 0 and 1 at v), so |S| <= n. For
    n = 1 the four members x, NOT x, 1, 0 shatter both points, so VC = 2 and the
    shattered set is {0, 1}. Default distribution: uniform on {0,1}^n.

    ``random_member``: uniform over the 3^n consistent conjunctions (each variable
    absent, positive or negated with probability 1/3). ``members()`` enumerates the
    3^n + 1 distinct functions (the consistent conjunctions and the canonical constant
    0) when that is at most 200,000; ``size()`` is 3^n + 1. ``exact_distance`` under
    the uniform cube in closed form. ``closure_predict`` and ``fit_member``: the
    conjunction of every literal satisfied by all positives (constant 0 without
    positives), the most specific member consistent with them.
    """

    test_spec = "conjunctions:n=4"

    def __init__(self, n: int = 10):
        check(1 <= n <= MAX_N, f"conjunctions: n must be in [1, {MAX_N}], got n={n}")
        self.n = int(n)

    @property
    def vc_dimension(self) -> int:
        return max(self.n, 2)

    def shattered_set(self) -> np.ndarray:
        if self.n == 1:
            return np.array([[0], [1]], dtype=np.uint8)
        return (1 - np.eye(self.n, dtype=np.uint8)).astype(np.uint8)

    def realise(self, points: np.ndarray, labels: np.ndarray) -> ConjunctionFunction:
        """On rows of the shattered set (all-ones but position i): pos = {i : label 0}.
        Other points get the most specific conjunction of the positives, which realises
        the labelling whenever any conjunction does (``ParameterError`` otherwise)."""
        points = as_bit_rows(points, self.n)
        labels = np.asarray(labels).reshape(-1)
        check(len(points) == len(labels), "conjunctions: realise needs one label per point")
        zeros = points.shape[1] - points.sum(axis=1, dtype=np.int64)
        if self.n >= 2 and len(points) and bool(np.all(zeros == 1)):
            hole = np.argmin(points, axis=1)
            pos = np.zeros(self.n, dtype=bool)
            pos[hole[labels == 0]] = True
            if not np.array_equal(np.isin(hole, hole[labels == 0]), labels == 0):
                raise ParameterError("conjunctions: realise got a point labelled both 0 and 1")
            return ConjunctionFunction(pos, np.zeros(self.n, dtype=bool))
        f = self.fit_member(points, labels)
        if not np.array_equal(f(points), (labels == 1).astype(np.uint8)):
            raise ParameterError("conjunctions: no conjunction realises these labels")
        return f

    def contains(self, f: Function) -> bool:
        """A :class:`ConjunctionFunction` exactly (no subclass) whose ``pos`` and ``neg``
        are plain ``(n,)`` bool arrays."""
        f = exact_member(f, ConjunctionFunction)
        return f is not None and is_array(f.pos, (self.n,), bool) and is_array(f.neg, (self.n,), bool)

    def random_member(self, rng: np.random.Generator) -> ConjunctionFunction:
        kind = rng.integers(0, 3, size=self.n)
        return ConjunctionFunction(kind == 1, kind == 2)

    def size(self) -> int:
        return 3 ** self.n + 1

    def _all_masks(self) -> tuple[np.ndarray, np.ndarray]:
        """``(pos, neg)`` masks ``(3^n + 1, n)`` of every distinct function, in order."""
        codes = np.arange(3 ** self.n, dtype=np.int64)
        kinds = (codes[:, None] // 3 ** np.arange(self.n, dtype=np.int64)) % 3
        pos = np.vstack([kinds == 1, np.ones((1, self.n), dtype=bool)])
        neg = np.vstack([kinds == 2, np.ones((1, self.n), dtype=bool)])
        return pos, neg

    def members(self) -> Iterator[ConjunctionFunction] | None:
        if self.size() > MAX_ENUMERATED:
            return None
        pos, neg = self._all_masks()
        return (ConjunctionFunction(p, q) for p, q in zip(pos, neg))

    @staticmethod
    def _acceptance(pos: np.ndarray, neg: np.ndarray) -> float:
        """Pr[f = 1] under the uniform cube: 2^-(literals), or 0 if contradictory."""
        return 0.0 if np.any(pos & neg) else math.ldexp(1.0, -int(pos.sum() + neg.sum()))

    def exact_distance(self, f: Function, g: Function, dist: Distribution) -> float | None:
        """Under the uniform cube: P[f=1] + P[g=1] - 2 P[f=1, g=1], where f AND g is the
        conjunction of both literal sets. ``None`` for other distributions."""
        if not self._is_cube(dist):
            return None
        f, g = unwrap(f), unwrap(g)
        both = self._acceptance(f.pos | g.pos, f.neg | g.neg)
        return self._acceptance(f.pos, f.neg) + self._acceptance(g.pos, g.neg) - 2.0 * both

    def cheapest_flip(self, f: Function, x: np.ndarray, dist: Distribution) -> ConjunctionFunction | None:
        """Exact under the uniform cube (L = literals of f, v = literals x violates):

        - f(x) = 1, a variable j outside f: add the literal on j that x violates
          (distance 2^-(L+1), the least: any g rejecting x rejects at least half of
          f's sub-cube). All n variables used (f accepts only x): the constant 0
          (distance 2^-n).
        - f(x) = 0, f consistent and v = 1: drop that literal (distance 2^-L).
        - f(x) = 0 otherwise (v >= 2, or f contradictory): the conjunction of all n
          literals of x, accepting x alone (distance P[f=1] + 2^-n). Dropping every
          violated literal would cost (2^v - 1) 2^-L, more as soon as v >= 2.

        Other finite distributions: an exhaustive search over the 3^n + 1 members
        (n <= 11), vectorised; else ``None``.
        """
        f = unwrap(f)
        x = as_bit_rows(np.asarray(x).reshape(1, -1), self.n)[0].astype(bool)
        if not self._is_cube(dist):
            return self._search_flip(f, x, dist)
        violated_pos, violated_neg = f.pos & ~x, f.neg & x
        violated = int(violated_pos.sum() + violated_neg.sum())
        if violated == 0:
            free = np.flatnonzero(~(f.pos | f.neg))
            if len(free) == 0:
                return ConjunctionFunction.zero(self.n)
            j = int(free[0])
            pos, neg = f.pos.copy(), f.neg.copy()
            (neg if x[j] else pos)[j] = True
            return ConjunctionFunction(pos, neg)
        if violated == 1 and not f.contradictory:
            return ConjunctionFunction(f.pos & ~violated_pos, f.neg & ~violated_neg)
        return ConjunctionFunction(x.copy(), ~x)

    def _search_flip(self, f: ConjunctionFunction, x: np.ndarray, dist: Distribution) -> ConjunctionFunction | None:
        support = dist.support()
        if support is None or self.size() > MAX_ENUMERATED:
            return None
        points, probs = support
        points = as_bit_rows(points, self.n)
        pos, neg = self._all_masks()
        fx = bool(f(x[None].astype(np.uint8))[0])
        flips = _satisfied(pos, neg, x[None].astype(np.uint8))[:, 0] != fx
        pos, neg = pos[flips], neg[flips]
        blocks = (_satisfied(pos[rows], neg[rows], points) for rows in row_blocks(len(pos), len(points)))
        best = lightest_flip(blocks, f(points).astype(bool), probs)
        return None if best is None else ConjunctionFunction(pos[best], neg[best])

    def closure_masks(self, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Masks ``(V, n)`` of the most specific conjunction of each voter's positives.

        ``X``: ``(V, m, n)``, ``Y``: ``(V, m)``. A literal is kept iff every positive
        satisfies it; without positives every literal is kept (the constant 0).
        """
        Xb = np.asarray(X).astype(bool)
        positive = (np.asarray(Y) == 1)[..., None]
        pos = np.all(Xb | ~positive, axis=1)
        neg = np.all(~Xb | ~positive, axis=1)
        return pos, neg

    def closure_predict(self, X: np.ndarray, Y: np.ndarray, queries: np.ndarray) -> np.ndarray:
        """1 iff the query satisfies the voter's closure conjunction. ``X``: ``(V, m, n)``,
        ``Y``: ``(V, m)``, ``queries``: ``(Q, n)``; returns ``(V, Q)`` uint8. A voter with
        no positives keeps both literals of every variable and so predicts 0."""
        pos, neg = self.closure_masks(X, Y)
        return _satisfied(pos, neg, as_bit_rows(queries, self.n)).astype(np.uint8)

    def fit_member(self, X: np.ndarray, Y: np.ndarray) -> ConjunctionFunction:
        """The closure: the most specific conjunction of the positives. Consistent with
        every realisable batch (any conjunction accepting the positives accepts a
        superset of its points), hence an exact empirical-risk minimiser there; on
        unrealisable data it is not one. Without positives: :meth:`ConjunctionFunction.zero`."""
        X = as_bit_rows(X, self.n)
        Y = np.asarray(Y).reshape(-1)
        if not np.any(Y == 1):
            return ConjunctionFunction.zero(self.n)
        pos, neg = self.closure_masks(X[None], Y[None])
        return ConjunctionFunction(pos[0], neg[0])
