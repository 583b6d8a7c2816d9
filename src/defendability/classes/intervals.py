"""Unions of at most k closed intervals, and thresholds, on the real line."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.stats import norm

from ..errors import IncompatibleError, ParameterError, check
from ..registry import register
from ..spaces import Distribution, Gaussian, UniformInterval
from .base import Function, FunctionClass, exact_member, unwrap

#: Largest k of the class (a union is searched and ranked move by move in Python).
MAX_K = 10 ** 6

#: Points drawn (seed 0) to rank candidate flips under a distribution with neither a
#: closed-form CDF nor a finite support.
RANKING_SAMPLES = 20_000


def as_real_points(x: np.ndarray) -> np.ndarray:
    """A batch of scalar real points as a float64 ``(m,)`` array (raises ``ValueError``)."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"points on the real line must have shape (m,), got {x.shape}")
    return x


class IntervalUnion(Function):
    """x -> [x lies in one of the closed intervals [l_i, r_i]].

    Representation: ``bounds``, a ``(m, 2)`` float array of the connected components in
    increasing order (l_i <= r_i < l_{i+1}; endpoints may be -inf or +inf). The
    constructor sorts the given intervals and merges the ones that overlap or touch, so
    the representation is canonical: two unions are equal iff they are the same set.
    A batch ``(size,)`` of floats gives ``(size,)`` uint8.
    """

    def __init__(self, bounds: np.ndarray | list[tuple[float, float]]):
        b = np.asarray(bounds, dtype=float).reshape(-1, 2)
        if np.isnan(b).any() or bool(np.any(b[:, 0] > b[:, 1])):
            raise ValueError(f"intervals need l <= r and no NaN, got {b.tolist()}")
        b = b[np.argsort(b[:, 0], kind="stable")]
        merged: list[list[float]] = []
        for lo, hi in b:
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        self.bounds = np.array(merged, dtype=float).reshape(-1, 2)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = as_real_points(x)
        if len(self.bounds) == 0:
            return np.zeros(len(x), dtype=np.uint8)
        i = np.searchsorted(self.bounds[:, 0], x, side="right") - 1
        inside = (i >= 0) & (x <= self.bounds[np.maximum(i, 0), 1])
        return inside.astype(np.uint8)

    def breakpoints(self) -> np.ndarray:
        """The finite endpoints (where the label can change)."""
        e = self.bounds.reshape(-1)
        return e[np.isfinite(e)]

    def key(self) -> tuple:
        return ("intervals", tuple(map(tuple, self.bounds.tolist())))

    def __len__(self) -> int:
        return len(self.bounds)

    def __repr__(self) -> str:
        return "IntervalUnion(" + ", ".join(f"[{lo:g}, {hi:g}]" for lo, hi in self.bounds) + ")"


class ThresholdFunction(Function):
    """x -> [x >= theta]. Representation: ``theta``, a float (-inf: constant 1, +inf:
    constant 0 on finite points). A batch ``(size,)`` of floats gives ``(size,)`` uint8."""

    def __init__(self, theta: float):
        self.theta = float(theta)
        if math.isnan(self.theta):
            raise ValueError("threshold theta must not be NaN")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (as_real_points(x) >= self.theta).astype(np.uint8)

    def breakpoints(self) -> np.ndarray:
        return np.array([self.theta]) if math.isfinite(self.theta) else np.empty(0)

    def key(self) -> tuple:
        return ("threshold", self.theta)

    def __repr__(self) -> str:
        return f"ThresholdFunction(theta={self.theta:g})"


def _cdf(dist: Distribution) -> Callable[[np.ndarray], np.ndarray] | None:
    """The CDF of a continuous distribution on the line with a closed form, else None."""
    if isinstance(dist, UniformInterval):
        lo, width = dist.low, dist.high - dist.low
        return lambda t: np.clip((t - lo) / width, 0.0, 1.0)
    if isinstance(dist, Gaussian) and dist.d == 0:
        mean, scale = float(dist.mean), dist.scale
        return lambda t: norm.cdf(t, loc=mean, scale=scale)
    return None


def _exact_distance(f: Function, g: Function, dist: Distribution) -> float | None:
    """Mass of {f != g} under a uniform interval or a 1-D Gaussian, else ``None``.

    Between consecutive endpoints of f and g both functions are constant, so the
    disagreement set is a union of such cells up to finitely many points (mass 0 under
    a continuous distribution); each cell is tested at an inner point.
    """
    cdf = _cdf(dist)
    if cdf is None:
        return None
    cuts = np.unique(np.concatenate([f.breakpoints(), g.breakpoints()]))
    edges = np.concatenate([[-np.inf], cuts, [np.inf]])
    left, right = edges[:-1], edges[1:]
    if len(cuts) == 0:
        inner = np.zeros(1)
    else:
        # an inner point of each cell, including the two unbounded ones
        inner = np.where(np.isfinite(left) & np.isfinite(right), left / 2 + right / 2,
                         np.where(np.isfinite(left), left + 1.0, right - 1.0))
    differ = f(inner) != g(inner)
    return float(math.fsum((cdf(right[differ]) - cdf(left[differ])).tolist()))


def _distance(f: Function, g: Function, dist: Distribution) -> float | None:
    """Exact distance where a closed form or a finite support exists, else ``None``."""
    exact = _exact_distance(f, g, dist)
    if exact is not None:
        return exact
    support = dist.support()
    if support is None:
        return None
    points, probs = support
    points = np.asarray(points, dtype=float).reshape(-1)
    return math.fsum(probs[f(points) != g(points)].tolist())


def _ranker(dist: Distribution) -> Callable[[Function, Function], float]:
    """Distance used to rank candidate flips: exact where possible, else an estimate on
    a fixed-seed sample (the same sample for every candidate)."""
    if _cdf(dist) is not None or dist.support() is not None:
        return lambda f, g: _distance(f, g, dist)
    sample = np.asarray(dist.sample(np.random.default_rng(0), RANKING_SAMPLES), dtype=float).reshape(-1)
    return lambda f, g: float(np.mean(f(sample) != g(sample)))


def runs_of_positives(points: np.ndarray, labels: np.ndarray) -> list[tuple[int, int, int]]:
    """Maximal runs of label 1 in the points' sorted order.

    Returns ``(start, stop, negatives_before)`` per run: indices into the sorted order
    (stop exclusive) and the number of negatives between this run and the previous one.
    """
    order = np.argsort(points, kind="stable")
    y = (np.asarray(labels)[order] == 1).astype(np.int8)
    edges = np.diff(np.concatenate([[0], y, [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    before = starts - np.concatenate([[0], stops[:-1]])
    return [(int(a), int(b), int(c)) for a, b, c in zip(starts, stops, before)]


def _check_consistent(points: np.ndarray, labels: np.ndarray, name: str) -> None:
    """Raise ``ParameterError`` when one point carries both labels."""
    pos = np.unique(points[labels == 1])
    check(not np.isin(points[labels != 1], pos).any(), f"{name}: realise got a point labelled both 0 and 1")


class _LineDomain:
    """Mixin for classes on the real line: scalar points, uniform on [0, 1) by default."""

    @property
    def point_shape(self) -> tuple[int, ...]:
        return ()

    def default_distribution(self) -> Distribution:
        return UniformInterval(0.0, 1.0)


@register("classes", "intervals")
class Intervals(_LineDomain, FunctionClass):
    """Unions of at most k closed intervals on the real line (VC dimension 2k).

    Points are real scalars (``point_shape == ()``, float arrays); a member is an
    :class:`IntervalUnion` with at most k components. VC = 2k: 2k points are shattered
    (every labelling has at most k runs of 1s, one interval per run), and the
    alternating labelling 1,0,1,...,1 of 2k + 1 points has k + 1 runs. The shattered set
    inside [0, 1] is (arange(2k) + 0.5) / (2k); the default distribution is uniform on
    [0, 1]. ``random_member`` pairs up 2k sorted uniform points of [0, 1] into k intervals.

    ``realise``: one interval per maximal run of positives, with endpoints at the run's
    first and last points (``ParameterError`` if there are more than k runs).
    ``exact_distance``: the mass of the symmetric difference under a uniform interval
    or a 1-D Gaussian (``None`` otherwise). ``cheapest_flip``: the least distant of a
    set of candidate moves (see its docstring), exact under those two distributions and
    finite ones. ``closure_predict`` only for k = 1 (unions of two intervals are not
    closed under intersection). ``fit_member``: the runs of positives (see there).
    """

    test_spec = "intervals:k=2"

    def __init__(self, k: int = 1):
        check(1 <= k <= MAX_K, f"intervals: k must be in [1, 10^6], got k={k}")
        self.k = int(k)

    @property
    def vc_dimension(self) -> int:
        return 2 * self.k

    def shattered_set(self) -> np.ndarray:
        return (np.arange(2 * self.k) + 0.5) / (2 * self.k)

    def realise(self, points: np.ndarray, labels: np.ndarray) -> IntervalUnion:
        points = as_real_points(np.asarray(points, dtype=float).reshape(-1))
        labels = np.asarray(labels).reshape(-1)
        check(len(points) == len(labels), "intervals: realise needs one label per point")
        _check_consistent(points, labels, "intervals")
        runs = runs_of_positives(points, labels)
        check(len(runs) <= self.k,
              f"intervals: the labels have {len(runs)} runs of positives, more than k={self.k}")
        xs = np.sort(points, kind="stable")
        return IntervalUnion([(xs[a], xs[b - 1]) for a, b, _ in runs])

    def contains(self, f: Function) -> bool:
        """An :class:`IntervalUnion` exactly (no subclass) whose ``bounds`` is a plain
        float64 ``(m, 2)`` array of at most k disjoint, sorted, non-touching intervals
        (the canonical form the constructor builds)."""
        f = exact_member(f, IntervalUnion)
        if f is None:
            return False
        b = f.bounds
        return (type(b) is np.ndarray and b.dtype == np.float64
                and b.ndim == 2 and b.shape[1] == 2 and len(b) <= self.k and not np.isnan(b).any()
                and bool(np.all(b[:, 0] <= b[:, 1])) and bool(np.all(b[1:, 0] > b[:-1, 1])))

    def random_member(self, rng: np.random.Generator) -> IntervalUnion:
        return IntervalUnion(np.sort(rng.random(2 * self.k)).reshape(self.k, 2))

    def exact_distance(self, f: Function, g: Function, dist: Distribution) -> float | None:
        return _exact_distance(unwrap(f), unwrap(g), dist)

    def cheapest_flip(self, f: Function, x: np.ndarray, dist: Distribution) -> IntervalUnion | None:
        """The least distant member among the candidate moves that flip x.

        First the local move: if f(x) = 0 add the degenerate interval [x, x]; if
        f(x) = 1 cut x out of its interval [l, r], leaving [l, x-] and [x+, r] (x- and
        x+ the neighbouring floats, so only x itself is removed; empty pieces dropped).
        If that leaves k + 1 components, one more move restores k, and every choice is a
        candidate: merge two adjacent components (filling the gap between them; merging
        [x, x] with a neighbour is extending that neighbour to x) or drop one component
        (dropping one piece of a cut interval is shrinking it from that side). The least
        distant candidate that still flips x is returned (ties: the first generated).
        Candidates are ranked by the exact distance under a uniform interval, a 1-D
        Gaussian or a finite support, else by an estimate on a fixed-seed sample of
        20,000 points. Exact against brute force on finite supports (tests/classes).
        """
        f = unwrap(f)
        x = float(np.asarray(x, dtype=float).reshape(()))
        fx = int(f(np.array([x]))[0])
        bounds = [tuple(b) for b in f.bounds.tolist()]
        if fx == 0:
            local = sorted(bounds + [(x, x)])
        else:
            local = []
            for lo, hi in bounds:
                if lo <= x <= hi:
                    if lo < x:
                        local.append((lo, float(np.nextafter(x, -np.inf))))
                    if x < hi:
                        local.append((float(np.nextafter(x, np.inf)), hi))
                else:
                    local.append((lo, hi))
        candidates = [local]
        if len(local) > self.k:
            candidates = [local[:i] + [(local[i][0], local[i + 1][1])] + local[i + 2:]
                          for i in range(len(local) - 1)]
            candidates += [local[:i] + local[i + 1:] for i in range(len(local))]
        rank = _ranker(dist)
        best, best_distance = None, np.inf
        for c in candidates:
            g = IntervalUnion(c)
            if len(g) > self.k or int(g(np.array([x]))[0]) == fx:
                continue
            distance = rank(f, g)
            if distance < best_distance:
                best, best_distance = g, distance
        return best

    def closure_predict(self, X: np.ndarray, Y: np.ndarray, queries: np.ndarray) -> np.ndarray:
        """For k = 1: 1 iff the query lies in [min, max] of the voter's positives (0
        without positives). ``X``, ``Y``: ``(V, m)``; ``queries``: ``(Q,)``; returns
        ``(V, Q)`` uint8. For k > 1 the class is not intersection-closed: ``TypeError``."""
        if self.k != 1:
            raise IncompatibleError(f"intervals with k={self.k} > 1 are not intersection-closed: "
                            "the closure learner applies only to k=1")
        X, pos = np.asarray(X, dtype=float), np.asarray(Y) == 1
        lo = np.where(pos, X, np.inf).min(axis=1, initial=np.inf)
        hi = np.where(pos, X, -np.inf).max(axis=1, initial=-np.inf)
        q = as_real_points(queries)[None, :]
        return ((lo[:, None] <= q) & (q <= hi[:, None])).astype(np.uint8)

    def fit_member(self, X: np.ndarray, Y: np.ndarray) -> IntervalUnion:
        """One interval per maximal run of positives in sorted order, [first, last] point.

        On realisable data (at most k runs) this is consistent, hence an exact
        empirical-risk minimiser. With more than k runs it merges adjacent runs across
        the gaps holding the fewest negatives until k remain (each merge mislabels that
        gap's negatives): a heuristic, not an exact minimiser, since dropping a short run
        can cost less than any merge.
        """
        X = as_real_points(np.asarray(X, dtype=float).reshape(-1))
        Y = np.asarray(Y).reshape(-1)
        runs = runs_of_positives(X, Y)
        xs = np.sort(X, kind="stable")
        if len(runs) > self.k:
            gaps = np.array([before for _, _, before in runs[1:]])
            # keep the k - 1 widest gaps as separations; merge across all the others
            keep = np.sort(np.argsort(-gaps, kind="stable")[: self.k - 1]) + 1
            starts = np.concatenate([[0], keep])
            stops = np.concatenate([keep, [len(runs)]])
            runs = [(runs[a][0], runs[b - 1][1], 0) for a, b in zip(starts, stops)]
        return IntervalUnion([(xs[a], xs[b - 1]) for a, b, _ in runs])


@register("classes", "thresholds")
class Thresholds(_LineDomain, FunctionClass):
    """Thresholds x -> (x >= theta) on the real line (VC dimension 1).

    Points are real scalars; a member is a :class:`ThresholdFunction` with theta in
    [-inf, +inf]. VC = 1: one point is shattered, and for two points a < b the
    labelling (1, 0) would need theta <= a and theta > b. Shattered set [0.5], default
    distribution uniform on [0, 1], ``random_member`` theta uniform on [0, 1]. The class
    is intersection-closed (the intersection of {x >= s} and {x >= t} is a threshold),
    so the closure learner applies; ``fit_member`` is an exact empirical-risk minimiser.
    ``exact_distance`` under a uniform interval or a 1-D Gaussian (mass between the two
    thetas); ``cheapest_flip`` moves theta just past x, which is exact for every
    distribution (any threshold that flips x has theta on the other side of x).
    """

    @property
    def vc_dimension(self) -> int:
        return 1

    def shattered_set(self) -> np.ndarray:
        return np.array([0.5])

    def realise(self, points: np.ndarray, labels: np.ndarray) -> ThresholdFunction:
        """theta = the least positive point (+inf without positives)."""
        points = as_real_points(np.asarray(points, dtype=float).reshape(-1))
        labels = np.asarray(labels).reshape(-1)
        check(len(points) == len(labels), "thresholds: realise needs one label per point")
        theta = points[labels == 1].min(initial=np.inf)
        if np.any(points[labels != 1] >= theta):
            raise ParameterError("thresholds: no threshold realises these labels "
                                 "(a negative point lies at or above a positive one)")
        return ThresholdFunction(theta)

    def contains(self, f: Function) -> bool:
        """A :class:`ThresholdFunction` exactly (no subclass) whose ``theta`` is a float,
        not NaN."""
        f = exact_member(f, ThresholdFunction)
        return f is not None and type(f.theta) is float and not math.isnan(f.theta)

    def random_member(self, rng: np.random.Generator) -> ThresholdFunction:
        return ThresholdFunction(rng.random())

    def exact_distance(self, f: Function, g: Function, dist: Distribution) -> float | None:
        return _exact_distance(unwrap(f), unwrap(g), dist)

    def cheapest_flip(self, f: Function, x: np.ndarray, dist: Distribution) -> ThresholdFunction:
        """theta' = x when f(x) = 0, else the float just above x: f and g then differ
        exactly on [x, theta) or [theta, x], which every flipping threshold covers."""
        f = unwrap(f)
        x = float(np.asarray(x, dtype=float).reshape(()))
        return ThresholdFunction(x if x < f.theta else float(np.nextafter(x, np.inf)))

    def closure_predict(self, X: np.ndarray, Y: np.ndarray, queries: np.ndarray) -> np.ndarray:
        """1 iff the query is >= the voter's least positive (0 without positives).
        ``X``, ``Y``: ``(V, m)``; ``queries``: ``(Q,)``; returns ``(V, Q)`` uint8."""
        X, pos = np.asarray(X, dtype=float), np.asarray(Y) == 1
        theta = np.where(pos, X, np.inf).min(axis=1, initial=np.inf)
        return (as_real_points(queries)[None, :] >= theta[:, None]).astype(np.uint8)

    def fit_member(self, X: np.ndarray, Y: np.ndarray) -> ThresholdFunction:
        """Exact empirical-risk minimiser: theta at a batch point or +inf, whichever
        mislabels fewest (ties: the smallest theta). On realisable data this is the
        least positive point, the closure."""
        X = as_real_points(np.asarray(X, dtype=float).reshape(-1))
        Y = np.asarray(Y).reshape(-1) == 1
        order = np.argsort(X, kind="stable")
        xs, ys = X[order], Y[order]
        values, first = np.unique(xs, return_index=True)
        pos_below = np.concatenate([[0], np.cumsum(ys)])[first]
        neg_at_or_above = (~ys).sum() - np.concatenate([[0], np.cumsum(~ys)])[first]
        errors = np.append(pos_below + neg_at_or_above, ys.sum())
        i = int(np.argmin(errors))
        return ThresholdFunction(values[i] if i < len(values) else np.inf)
