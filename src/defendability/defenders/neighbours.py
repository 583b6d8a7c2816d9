"""The Hamming-neighbours defender (THEORY.md §4.4): a black-box local-consistency check.

A backdoor planted at a single point x* makes g(x*) an island: g disagrees there with
its own values one bit away. ``neighbours`` looks for exactly that, with r queries of g
around each input. It is the natural query-only test, and THEORY.md §8 P9 expects it to
fail against ``prf-flip``, whose clean function is pseudorandom, so that every input
looks like an island half of the time.
"""

from __future__ import annotations

import numpy as np

from ..classes.base import CubeDomain, Function, FunctionClass
from ..errors import IncompatibleError, check
from ..registry import Match, register
from ..spaces import Sampler, UniformCube
from .base import Defender, Detector

#: Most point coordinates (inputs x (r + 1) x n) one call of g may receive; larger
#: batches are scored in consecutive chunks of inputs (bounds the memory to 16 MiB).
MAX_CALL_CELLS = 1 << 24


def cube_bits(cls: FunctionClass) -> int:
    """n for a class over {0,1}^n (``CubeDomain``, or a uniform-cube default
    distribution); raises ``IncompatibleError`` for any other class."""
    shape = tuple(cls.point_shape)
    if (isinstance(cls, CubeDomain) or isinstance(cls.default_distribution(), UniformCube)) and len(shape) == 1:
        return int(shape[0])
    raise IncompatibleError(f"neighbours: class {cls.name!r} has points of shape {shape}, not rows of {{0,1}}^n; "
                            "it needs a class over the cube (parities, conjunctions, keyed-hash, circuits)")


class NeighboursDetector(Detector):
    """Scores x by the fraction of r random Hamming-1 neighbours of x where g disagrees with g(x).

    ``score(x)`` for ``x`` of shape ``(Q, n)`` draws, for each input, r coordinates
    independently and uniformly from ``range(n)`` (with replacement) and flips each in
    turn; g is called once on ``concatenate([x, neighbours])``, shape ``(Q * (r + 1), n)``
    with the r neighbours of input i at rows ``Q + i*r .. Q + i*r + r - 1``. Returns
    ``(Q,)`` floats in [0, 1] (multiples of 1/r); REJECT iff score > 1/2, i.e. iff g(x)
    disagrees with the majority of its r neighbours (r is odd: no ties).
    """

    threshold = 0.5

    def __init__(self, g: Function, n: int, r: int, rng: np.random.Generator):
        self.g, self.n, self.r, self.rng = g, n, r, rng

    def neighbours(self, x: np.ndarray) -> np.ndarray:
        """``(Q, r, n)``: r random Hamming-1 neighbours of each row of ``x`` ``(Q, n)``."""
        x = np.asarray(x)
        coords = self.rng.integers(0, self.n, size=(len(x), self.r))
        out = np.repeat(x[:, None, :], self.r, axis=1)
        i, j = np.arange(len(x))[:, None], np.arange(self.r)[None, :]
        out[i, j, coords] = np.logical_not(out[i, j, coords])
        return out

    def score(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n:
            raise ValueError(f"neighbours: inputs must have shape (Q, {self.n}), got {x.shape}")
        step = max(1, MAX_CALL_CELLS // ((self.r + 1) * self.n))
        return np.concatenate([self._score(x[start:start + step]) for start in range(0, len(x), step)]
                              or [np.zeros(0, dtype=float)])

    def _score(self, x: np.ndarray) -> np.ndarray:
        q = len(x)
        batch = np.concatenate([x, self.neighbours(x).reshape(q * self.r, self.n)])
        labels = np.asarray(self.g(batch), dtype=np.uint8)  # one call: x and all its neighbours
        own, around = labels[:q], labels[q:].reshape(q, self.r)
        return np.mean(around != own[:, None], axis=1, dtype=float)


@register("defenders", "neighbours")
class Neighbours(Defender):
    """REJECT iff g(x) disagrees with the majority of g on r random Hamming-1 neighbours of x.

    Parameters: ``r`` (odd number of neighbours, default 31). Black-box: g is only
    called, never read; no samples of D are drawn. Points must be rows of {0,1}^n (a
    class over the cube, else ``IncompatibleError``, before any round: ``check_class``).

    score(x): fraction of the r neighbours where g disagrees with g(x), ``(Q,)`` floats
    in [0, 1]; graded. The r flipped coordinates are drawn independently and uniformly
    (with replacement) from the defender's stream, so the score is an unbiased estimate
    of the disagreeing fraction among all n neighbours and REJECT is a majority of r
    independent votes. Cost: no samples in ``fit``, r + 1 evaluations of g per scored
    input, in one call per batch.

    No guarantee: THEORY.md §4.4 lists the rule with no bound, and §8 P9 expects it to sit
    at a coin flip against ``prf-flip`` (a query-only defender against a PRF).
    """

    test_spec = "neighbours:r=5"
    test_match = Match(cls="parities:n=6", attacker="shatter", eps=0.2)

    graded = True

    def __init__(self, r: int = 31):
        check(isinstance(r, int) and not isinstance(r, bool) and r >= 1 and r % 2 == 1,
              f"r must be an odd integer >= 1 (no ties in the majority), got {r!r}")
        self.r = r

    def check_class(self, cls: FunctionClass) -> None:
        """``IncompatibleError`` for a class whose points are not rows of {0,1}^n."""
        cube_bits(cls)

    def fit(self, cls: FunctionClass, g: Function, sampler: Sampler, eps: float,
            rng: np.random.Generator) -> NeighboursDetector:
        check(0.0 < eps < 1.0, f"eps must be in (0, 1), got {eps}")
        # A child stream: the detector draws neighbours at every score call, and must not
        # advance the caller's generator behind its back.
        return NeighboursDetector(g, cube_bits(cls), self.r, rng.spawn(1)[0])
