"""Distributions over input spaces, and the sample-only view defenders get.

Conventions: ``sample(rng, size)`` returns an array of shape ``(size, *point_shape)``;
scalar spaces have ``point_shape == ()``. A distribution with finite support also
exposes ``support() -> (points, probs)`` so that the referee can compute distances
exactly; other distributions return ``None`` there.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod

import numpy as np

from .batches import Batches
from .errors import UserError, check

#: Supports larger than this are treated as infinite (distances by estimation).
MAX_EXACT_SUPPORT = 1 << 20

#: Most array cells one draw may produce (points x coordinates, or batches x support
#: for counts): 2^28 cells is 2 GiB of int64, about a tenth of a 24 GiB machine.
MAX_DRAW_CELLS = 1 << 28


def check_draw(cells: int, what: str) -> None:
    """Refuse, with a one-line error, a draw too large for memory."""
    check(cells <= MAX_DRAW_CELLS, f"{what} would hold {cells:,} values, more than the limit of "
                                   f"{MAX_DRAW_CELLS:,}: use a larger eps or fewer voters or samples")


class Distribution(ABC):
    """A distribution D over an input space X."""

    point_shape: tuple[int, ...] = ()

    @abstractmethod
    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` independent draws, shape ``(size, *point_shape)``."""

    def support(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(points, probs)`` with ``probs.sum() == 1`` for finite supports, else ``None``."""
        return None

    def sample_batches(self, rng: np.random.Generator, batches: int, k: int) -> Batches:
        """``batches`` independent batches of ``k`` draws each."""
        check_draw(batches * k * int(np.prod(self.point_shape, dtype=np.int64)), f"{batches:,} batches of {k:,} samples")
        points = self.sample(rng, batches * k)
        return Batches(points, index=np.arange(batches * k).reshape(batches, k))

    def mass(self, points: np.ndarray) -> np.ndarray:
        """Probability of each given point (finite supports only)."""
        sup = self.support()
        if sup is None:
            raise TypeError(f"{type(self).__name__} has no finite support")
        pts, probs = sup
        flat_pts = pts.reshape(len(pts), -1)
        flat_q = np.asarray(points).reshape(len(points), -1)
        index = {row.tobytes(): p for row, p in zip(flat_pts, probs)}
        return np.array([index.get(row.tobytes(), 0.0) for row in flat_q])


class FiniteDistribution(Distribution):
    """Finitely many distinct points with given probabilities.

    ``points``: shape ``(m, *point_shape)``; ``probs``: shape ``(m,)``, non-negative,
    summing to 1. Zero-probability points are dropped.
    """

    def __init__(self, points: np.ndarray, probs: np.ndarray):
        points = np.asarray(points)
        probs = np.asarray(probs, dtype=float)
        check(points.ndim >= 1 and len(points) == len(probs) and len(points) > 0,
              "finite distribution: points and probs must be non-empty and of equal length")
        check(bool(np.all(probs >= 0)), "finite distribution: probabilities must be >= 0")
        check(abs(probs.sum() - 1.0) < 1e-9, f"finite distribution: probabilities sum to {probs.sum()}, not 1")
        keep = probs > 0
        self.points = points[keep]
        self.probs = probs[keep] / probs[keep].sum()
        self.point_shape = tuple(points.shape[1:])
        self._cdf = np.cumsum(self.probs)
        self._cdf[-1] = 1.0
        # Guide table for inverse-CDF sampling (Chen and Asau's indexed search): u in
        # bin b = floor(u*G) maps to an index between _lo[b] and _hi[b]; where they are
        # equal (all bins but at most m) the table answers without a binary search.
        self._bins = 1 << max(10, int(np.ceil(np.log2(4 * len(self.probs)))))
        edges = np.arange(self._bins + 1) / self._bins
        bounds = np.searchsorted(self._cdf, edges, side="right").clip(max=len(self.probs) - 1)
        self._lo, self._hi = bounds[:-1], bounds[1:]

    def sample_indices(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Indices into ``points`` of ``size`` draws (exact inverse-CDF sampling)."""
        u = rng.random(size)
        b = (u * self._bins).astype(np.intp)  # exact: the bin count is a power of two
        idx = self._lo[b]
        unsure = np.flatnonzero(idx != self._hi[b])
        if len(unsure):
            idx[unsure] = np.searchsorted(self._cdf, u[unsure], side="right")
        return idx

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.points[self.sample_indices(rng, size)]

    def sample_batches(self, rng: np.random.Generator, batches: int, k: int) -> Batches:
        if len(self.probs) > k:  # counts would cost more than the draws themselves
            return super().sample_batches(rng, batches, k)
        check_draw(batches * len(self.probs), f"{batches} batches of counts over {len(self.probs)} points")
        counts = rng.multinomial(k, self.probs, size=batches)
        seen = counts.any(axis=0)  # points no batch drew stay unseen, as with real draws
        return Batches(self.points[seen], counts=counts[:, seen])

    def support(self) -> tuple[np.ndarray, np.ndarray]:
        return self.points, self.probs

    def __repr__(self) -> str:
        return f"FiniteDistribution(m={len(self.points)})"


class UniformDiscrete(FiniteDistribution):
    """Uniform on the integers ``0..N-1`` (the domain of finite classes)."""

    def __init__(self, N: int):
        check(N >= 1, f"uniform discrete: N must be >= 1, got {N}")
        self.N = N
        super().__init__(np.arange(N), np.full(N, 1.0 / N))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.integers(0, self.N, size=size)

    def __repr__(self) -> str:
        return f"UniformDiscrete(N={self.N})"


class UniformCube(Distribution):
    """Uniform on {0,1}^n; points are ``uint8`` rows of length n."""

    def __init__(self, n: int):
        check(n >= 1, f"uniform cube: n must be >= 1, got {n}")
        self.n = n
        self.point_shape = (n,)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.integers(0, 2, size=(size, self.n), dtype=np.uint8)

    def support(self) -> tuple[np.ndarray, np.ndarray] | None:
        if (1 << self.n) > MAX_EXACT_SUPPORT:
            return None
        codes = np.arange(1 << self.n, dtype=np.int64)
        bits = ((codes[:, None] >> np.arange(self.n)) & 1).astype(np.uint8)
        return bits, np.full(len(codes), 1.0 / len(codes))

    def __repr__(self) -> str:
        return f"UniformCube(n={self.n})"


class Gaussian(Distribution):
    """N(mean, scale^2 I) on R^d (``d == 0`` means the real line, scalar points)."""

    def __init__(self, d: int, mean: float | np.ndarray = 0.0, scale: float = 1.0):
        check(d >= 0, f"gaussian: d must be >= 0, got {d}")
        check(scale > 0, f"gaussian: scale must be > 0, got {scale}")
        self.d, self.scale = d, float(scale)
        self.mean = np.broadcast_to(np.asarray(mean, dtype=float), (d,) if d else ()).copy()
        self.point_shape = (d,) if d else ()

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.mean + self.scale * rng.standard_normal((size, *self.point_shape))

    def __repr__(self) -> str:
        return f"Gaussian(d={self.d}, scale={self.scale})"


class UniformInterval(Distribution):
    """Uniform on [low, high) on the real line (scalar points)."""

    def __init__(self, low: float = 0.0, high: float = 1.0):
        check(high > low, f"uniform interval: need low < high, got [{low}, {high})")
        self.low, self.high = float(low), float(high)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size=size)

    def __repr__(self) -> str:
        return f"UniformInterval({self.low}, {self.high})"


class Empirical(FiniteDistribution):
    """Uniform over the rows of a given array (repeated rows weigh more)."""

    def __init__(self, rows: np.ndarray):
        rows = np.asarray(rows)
        check(rows.ndim >= 1 and len(rows) > 0, "empirical: needs at least one row")
        uniq, counts = np.unique(rows, axis=0, return_counts=True)
        super().__init__(uniq, counts / counts.sum())
        self.rows = rows

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.rows[rng.integers(0, len(self.rows), size=size)]

    def __repr__(self) -> str:
        return f"Empirical(rows={len(self.rows)})"


class Augmented(Distribution):
    """Images of a finite set, each drawn with a random shift and noise: an input
    distribution without a finite support (distances by estimation).

    ``rows``: ``(m, C, H, W)`` images in [0, 1]. A draw picks a row uniformly, shifts it
    by (dy, dx), each uniform in [-``shift``, ``shift``] pixels (vacated pixels are 0, as
    the background of the bundled images), adds Gaussian noise of standard deviation
    ``noise`` to every pixel and clips to [0, 1]. Points are float32 ``(C, H, W)``.
    """

    def __init__(self, rows: np.ndarray, shift: int = 1, noise: float = 0.05):
        rows = np.asarray(rows)
        check(rows.ndim == 4 and len(rows) > 0, f"augmented: rows must be images (m, C, H, W), got {rows.shape}")
        check(type(shift) is int and 0 <= shift < min(rows.shape[2:]),
              f"augmented: shift must be an integer in [0, {min(rows.shape[2:]) - 1}], got {shift!r}")
        check(isinstance(noise, float) and 0.0 <= noise <= 1.0, f"augmented: noise must be in [0, 1], got {noise!r}")
        self.rows = rows.astype(np.float32)
        self.shift, self.noise = shift, noise
        self.point_shape = tuple(int(v) for v in rows.shape[1:])

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return self.augment(self.rows[rng.integers(0, len(self.rows), size=size)], rng)

    def augment(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``images`` ``(size, C, H, W)``, each shifted and noised as a draw is."""
        out, size = np.asarray(images, dtype=np.float32), len(images)
        s = self.shift
        if s:
            h, w = self.point_shape[1:]
            padded = np.pad(out, ((0, 0), (0, 0), (s, s), (s, s)))
            dy, dx = rng.integers(0, 2 * s + 1, size=(2, size))
            ys = dy[:, None] + np.arange(h)[None, :]  # (size, h) rows of the padded image
            xs = dx[:, None] + np.arange(w)[None, :]
            out = padded[np.arange(size)[:, None, None, None], np.arange(out.shape[1])[None, :, None, None],
                         ys[:, None, :, None], xs[:, None, None, :]]
        if self.noise:
            out = out + rng.normal(0.0, self.noise, size=out.shape).astype(np.float32)
        return np.clip(out, 0.0, 1.0, dtype=np.float32)

    def __repr__(self) -> str:
        return f"Augmented(rows={len(self.rows)}, shift={self.shift}, noise={self.noise})"


class Sampler:
    """Sample access to D, as the defender gets it: draws, and counts what it drew.

    The defender never sees the distribution object, only this view; the referee
    reads ``drawn`` to report the samples a decision cost.
    """

    def __init__(self, dist: Distribution, rng: np.random.Generator):
        self._dist = dist
        self._rng = rng
        self.point_shape = dist.point_shape
        # the count lives in a closure, not an attribute (see classes.base.Counted)
        count = [0]

        def add(n: int) -> None:
            count[0] += n

        self._add, self._count = add, lambda: count[0]

    @property
    def drawn(self) -> int:
        """Points drawn from D through this sampler."""
        return self._count()

    def __call__(self, size: int) -> np.ndarray:
        check_draw(int(size) * int(np.prod(self.point_shape, dtype=np.int64)), f"a draw of {int(size):,} samples")
        self._add(int(size))
        return self._dist.sample(self._rng, int(size))

    def batches(self, batches: int, k: int) -> Batches:
        """``batches`` independent batches of ``k`` draws (counted as batches*k samples)."""
        out = self._dist.sample_batches(self._rng, int(batches), int(k))
        self._add(int(batches) * int(k))
        return out


def _plain_array(value: object) -> np.ndarray:
    """A copy of ``value`` if it is a plain numeric (or bool) ``np.ndarray``; else TypeError."""
    if type(value) is not np.ndarray or not (np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_):
        raise TypeError("not a plain numeric array")
    return value.copy()


def _plain_int(value: object) -> int:
    return int(operator.index(value))


def referee_distribution(dist: object) -> Distribution | None:
    """The distribution the referee samples from: its own copy of ``dist``, or ``None``.

    The referee never runs a player's sampling code and never keeps a player's object:

    - a distribution of one of the library's types (exact type) is rebuilt from its
      validated parameters (plain numbers and array copies), so that no change the
      attacker makes to its object later, and no instance attribute it set (a ``sample``
      that hides the method, say), reaches the referee;
    - any other :class:`Distribution` is replaced by the :class:`FiniteDistribution` its
      ``support()`` declares (copied);
    - anything else, a distribution without a finite support, or parameters that do not
      validate, gives ``None`` (the round is void: ``bad_distribution``).
    """
    kind = type(dist)
    try:
        if kind is UniformCube:
            return UniformCube(_plain_int(vars(dist)["n"]))
        if kind is UniformDiscrete:
            return UniformDiscrete(_plain_int(vars(dist)["N"]))
        if kind is Gaussian:
            own = vars(dist)
            return Gaussian(_plain_int(own["d"]), _plain_array(own["mean"]), float(own["scale"]))
        if kind is UniformInterval:
            own = vars(dist)
            return UniformInterval(float(own["low"]), float(own["high"]))
        if kind is Empirical:
            return Empirical(_plain_array(vars(dist)["rows"]))
        if kind is Augmented:
            own = vars(dist)
            return Augmented(_plain_array(own["rows"]), _plain_int(own["shift"]), float(own["noise"]))
        if kind is FiniteDistribution:
            own = vars(dist)
            return FiniteDistribution(_plain_array(own["points"]), _plain_array(own["probs"]))
        if not isinstance(dist, Distribution):
            return None
        support = dist.support()  # the attacker's code, but it only declares points and masses
        if support is None:
            return None
        points, probs = support
        return FiniteDistribution(_plain_array(np.asarray(points)), _plain_array(np.asarray(probs, dtype=float)))
    except (KeyError, TypeError, ValueError, OverflowError, UserError):
        return None
