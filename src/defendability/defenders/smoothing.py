"""The smoothing defender (THEORY.md §4.4, §6.3): GKVZ's evaluation-time immunisation,
used as a detector.

Goldwasser, Kim, Vaikuntanathan and Zamir ("Planting Undetectable Backdoors in Machine
Learning Models", FOCS 2022, arXiv 2204.06974) answer their own backdoors with a
run-time defence: replace h by its smoothing h_sigma(x) = E_z h(x + z), z ~ N(0,
sigma^2 I), estimated by a majority over noisy copies. h_sigma is (sqrt(2/pi)/sigma)-
Lipschitz in l2, so a trigger perturbation much smaller than sigma cannot move a clear
smoothed prediction. As a *detector* in the game: an input where the plain prediction
g(x) disagrees with the smoothed one is suspicious. A backdoor that fires only in a
tiny region around its trigger is exactly such an input; a task that is itself smooth at
scale sigma almost never is.

For inputs on a grid (8-bit images) the noise can instead move each coordinate by a
uniform number of quantisation steps in {-k, ..., k}, so that the copies stay on the
grid: one step of it randomises the least significant bits a signature backdoor writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..classes.base import CubeDomain, Function, FunctionClass, IntegerDomain
from ..errors import IncompatibleError, check
from ..registry import Match, register
from ..spaces import Sampler, UniformCube, UniformDiscrete
from .base import Defender, Detector

NOISES = ("gaussian", "quantise")

#: sigma of the Gaussian noise when none is given: a quarter of the unit scale of the
#: library's default distributions (N(0, I), U[0, 1]).
DEFAULT_SIGMA = 0.25

#: Most copies per input (bounds the cost of one decision).
MAX_COPIES = 100_001

#: Most point coordinates (inputs x (copies + 1) x coordinates) one call of g may
#: receive; larger batches are scored in consecutive chunks of whole inputs, so every
#: decision is still made from one call (bounds the memory to 32 MiB of float64).
MAX_CALL_CELLS = 1 << 22


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Noise:
    """The law of one noisy copy x + z of a point x (any shape, real coordinates).

    ``kind="gaussian"``: z ~ N(0, scale^2 I), ``scale`` = sigma. ``kind="quantise"``:
    each coordinate of z is ``scale * k_i`` (``scale`` = the quantisation step) with k_i
    uniform on {-steps, ..., steps}, independently, so a copy of a point on the grid
    stays on it (up to float rounding of x + k * step). Then, in both cases, every
    coordinate is clipped to [low, high] where those are given (a pixel cannot leave
    [0, 1]). Build it with :func:`make_noise`, which validates the parameters.
    """

    kind: str
    scale: float
    steps: int = 1
    low: float | None = None
    high: float | None = None

    def copies(self, x: np.ndarray, copies: int, rng: np.random.Generator) -> np.ndarray:
        """``copies`` noisy copies of each row of ``x`` ``(Q, *shape)``: ``(Q, copies, *shape)`` float64."""
        x = np.asarray(x, dtype=np.float64)
        shape = (len(x), copies, *x.shape[1:])
        if self.kind == "gaussian":
            z = self.scale * rng.standard_normal(shape)
        else:
            z = self.scale * rng.integers(-self.steps, self.steps + 1, size=shape).astype(np.float64)
        out = x[:, None] + z
        if self.low is not None or self.high is not None:
            np.clip(out, self.low, self.high, out=out)
        return out


def make_noise(noise: str = "gaussian", sigma: float | None = None, step: float | None = None, steps: int = 1,
               low: float | None = None, high: float | None = None) -> Noise:
    """A validated :class:`Noise` (``ParameterError``, one line, on a bad parameter).

    ``noise="gaussian"`` takes ``sigma`` (default :data:`DEFAULT_SIGMA`) and no ``step``;
    ``noise="quantise"`` takes ``step`` (required) and ``steps`` (k, default 1) and no
    ``sigma``. ``low``/``high``: optional clipping bounds, low < high.
    """
    check(noise in NOISES, f"noise must be one of {', '.join(NOISES)}, got {noise!r}")
    for name, value in (("low", low), ("high", high)):
        check(value is None or _is_number(value), f"{name} must be a finite number or unset, got {value!r}")
    check(low is None or high is None or low < high, f"low must be < high, got low={low}, high={high}")
    check(isinstance(steps, int) and not isinstance(steps, bool) and steps >= 1,
          f"steps must be an integer >= 1, got {steps!r}")
    bounds = {"low": None if low is None else float(low), "high": None if high is None else float(high)}
    if noise == "gaussian":
        check(step is None, "step applies to noise=quantise only; gaussian noise takes sigma")
        check(steps == 1, "steps applies to noise=quantise only; gaussian noise takes sigma")
        sigma = DEFAULT_SIGMA if sigma is None else sigma
        check(_is_number(sigma) and sigma > 0, f"sigma must be a finite number > 0, got {sigma!r}")
        return Noise("gaussian", float(sigma), 1, **bounds)
    check(sigma is None, "sigma applies to noise=gaussian only; quantise noise takes step and steps")
    check(step is not None, "noise=quantise needs step, the quantisation step of the inputs (1/255 for 8-bit images)")
    check(_is_number(step) and step > 0, f"step must be a finite number > 0, got {step!r}")
    return Noise("quantise", float(step), steps, **bounds)


def _check_copies(copies: int) -> None:
    check(isinstance(copies, int) and not isinstance(copies, bool) and 1 <= copies <= MAX_COPIES
          and copies % 2 == 1, f"copies must be an odd integer in [1, {MAX_COPIES}] (no ties in the majority), "
                               f"got {copies!r}")


def _chunk_len(cells_per_input: int) -> int:
    """Inputs per call of g: whole inputs, at most MAX_CALL_CELLS cells (at least one input)."""
    return max(1, MAX_CALL_CELLS // max(1, cells_per_input))


def smoothed_vote(g: Function, X: np.ndarray, sigma: float | None, copies: int, rng: np.random.Generator, *,
                  noise: str = "gaussian", step: float | None = None, steps: int = 1,
                  low: float | None = None, high: float | None = None) -> np.ndarray:
    """The Monte Carlo estimate of h_sigma(x) = Pr_z[g(x + z) = 1] for each row of ``X``.

    ``X``: ``(Q, *point_shape)``. Returns ``(Q,)`` float64 in [0, 1], multiples of
    1/copies: the fraction of ``copies`` noisy copies (law: :func:`make_noise` with the
    keyword parameters) that g labels 1. Cost: ``copies`` evaluations of g per row, in
    one call per chunk of rows.
    """
    _check_copies(copies)
    law = make_noise(noise, sigma, step, steps, low, high)
    X = np.asarray(X, dtype=np.float64)
    check(X.ndim >= 1, f"X must be a batch of points (Q, *point_shape), got shape {X.shape}")
    width = copies * int(np.prod(X.shape[1:], dtype=np.int64))
    votes, per_call = [], _chunk_len(width)
    for start in range(0, len(X), per_call):
        part = X[start:start + per_call]
        noisy = law.copies(part, copies, rng)
        labels = np.asarray(g(noisy.reshape(len(part) * copies, *X.shape[1:])), dtype=np.uint8)
        votes.append(labels.reshape(len(part), copies).mean(axis=1, dtype=np.float64))
    return np.concatenate(votes) if votes else np.zeros(0, dtype=np.float64)


def smoothed_predict(g: Function, X: np.ndarray, sigma: float | None, copies: int, rng: np.random.Generator,
                     **noise: object) -> np.ndarray:
    """The smoothed predictor: the majority label of g over ``copies`` noisy copies of each
    row of ``X`` ``(Q, *point_shape)``; ``(Q,)`` uint8. ``copies`` is odd, so there are
    no ties. Keyword parameters as :func:`smoothed_vote` (``noise``, ``step``, ``steps``,
    ``low``, ``high``)."""
    return (smoothed_vote(g, X, sigma, copies, rng, **noise) > 0.5).astype(np.uint8)


class SmoothingDetector(Detector):
    """Scores x by the fraction of noisy copies x + z_j on which g disagrees with g(x).

    ``score(x)`` for ``x`` of shape ``(Q, *point_shape)`` draws ``copies`` noisy copies
    of each input (:class:`Noise`) and calls g once on ``concatenate([x, copies])``,
    shape ``(Q * (copies + 1), *point_shape)``, with the copies of input i at rows
    ``Q + i*copies .. Q + i*copies + copies - 1``. Returns ``(Q,)`` floats in [0, 1]
    (multiples of 1/copies); REJECT iff score > 1/2, i.e. iff the smoothed (majority)
    prediction differs from g(x) (copies is odd: no ties).
    """

    threshold = 0.5

    def __init__(self, g: Function, point_shape: tuple[int, ...], noise: Noise, copies: int,
                 rng: np.random.Generator):
        self.g, self.point_shape, self.noise, self.copies, self.rng = g, tuple(point_shape), noise, copies, rng

    def score(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.shape[1:] != self.point_shape or x.ndim != len(self.point_shape) + 1:
            raise ValueError(f"smoothing: inputs must have shape (Q, {', '.join(map(str, self.point_shape))}), "
                             f"got {x.shape}")
        x = x.astype(np.float64)
        width = (self.copies + 1) * int(np.prod(self.point_shape, dtype=np.int64))
        per_call = _chunk_len(width)
        return np.concatenate([self._score(x[start:start + per_call]) for start in range(0, len(x), per_call)]
                              or [np.zeros(0, dtype=np.float64)])

    def _score(self, x: np.ndarray) -> np.ndarray:
        q = len(x)
        noisy = self.noise.copies(x, self.copies, self.rng).reshape(q * self.copies, *self.point_shape)
        labels = np.asarray(self.g(np.concatenate([x, noisy])), dtype=np.uint8)  # one call: x and its copies
        own, around = labels[:q], labels[q:].reshape(q, self.copies)
        return np.mean(around != own[:, None], axis=1, dtype=np.float64)


@register("defenders", "smoothing")
class Smoothing(Defender):
    """REJECT iff g(x) disagrees with the majority of g over noisy copies x + z_j (GKVZ smoothing).

    Parameters: ``sigma`` (Gaussian noise scale, default 0.25), ``copies`` (odd, default
    31), ``noise`` (``gaussian``: z ~ N(0, sigma^2 I); ``quantise``: each coordinate
    moves by ``step`` times a uniform integer in {-steps, ..., steps}), ``step`` (the
    quantisation step, required for ``quantise``), ``steps`` (k, default 1), ``low`` and
    ``high`` (optional bounds every noisy coordinate is clipped to). Black-box: g is only
    called; no samples of D are drawn. Points must be real (any class except those over
    the cube {0,1}^n or the integers [N]: ``check_class`` raises ``IncompatibleError``).

    score(x): fraction of the copies on which g disagrees with g(x), ``(Q,)`` floats in
    [0, 1], graded; REJECT iff it exceeds 1/2. Cost: no samples, copies + 1 evaluations
    of g per decision, in one call of g per batch of inputs.

    No guarantee in the game: THEORY.md §6.3 gives the Lipschitz bound of h_sigma (paper)
    but no bound on alpha or beta; the rule is GKVZ's immunisation read as a detector.
    """

    test_spec = "smoothing:copies=5"
    test_match = Match(cls="halfspaces:d=2", attacker="point-flip", eps=0.2)

    graded = True

    def __init__(self, sigma: float | None = None, copies: int = 31, noise: str = "gaussian",
                 step: float | None = None, steps: int = 1, low: float | None = None, high: float | None = None):
        _check_copies(copies)
        self.noise = make_noise(noise, sigma, step, steps, low, high)
        self.copies = copies
        # the parameters as given, for get_params: ``noise`` names the validated law
        real = {name: None if value is None else float(value)
                for name, value in (("sigma", sigma), ("step", step), ("low", low), ("high", high))}
        self._given = {"sigma": real["sigma"], "copies": copies, "noise": noise, "step": real["step"],
                       "steps": steps, "low": real["low"], "high": real["high"]}

    def get_params(self) -> dict[str, object]:
        """The parameters as given (the attribute ``noise`` is the validated
        :class:`Noise` they make, and ``sigma`` its scale)."""
        return dict(self._given)

    @property
    def sigma(self) -> float | None:
        """The Gaussian noise scale (``None`` for quantised noise)."""
        return self.noise.scale if self.noise.kind == "gaussian" else None

    def check_class(self, cls: FunctionClass) -> None:
        dist = cls.default_distribution()
        if isinstance(cls, (CubeDomain, IntegerDomain)) or isinstance(dist, (UniformCube, UniformDiscrete)):
            raise IncompatibleError(f"smoothing: class {cls.name!r} has discrete points ({dist!r}), not real "
                                    "vectors; it needs a class over R^d or R (halfspaces, intervals)")

    def fit(self, cls: FunctionClass, g: Function, sampler: Sampler, eps: float,
            rng: np.random.Generator) -> SmoothingDetector:
        check(0.0 < eps < 1.0, f"eps must be in (0, 1), got {eps}")
        self.check_class(cls)
        # A child stream: the detector draws noise at every score call, and must not
        # advance the caller's generator behind its back.
        return SmoothingDetector(g, tuple(cls.point_shape), self.noise, self.copies, rng.spawn(1)[0])
