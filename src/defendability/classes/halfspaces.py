"""Halfspaces x -> [w.x + b > 0] on R^d."""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.optimize import linprog
from scipy.special import owens_t
from scipy.stats import norm

from ..errors import ParameterError, check
from ..registry import register
from ..spaces import Distribution, Gaussian
from .base import Function, FunctionClass, exact_member, is_array, unwrap

#: Soft-margin penalty of the scikit-learn fit: large, so that on separable data the
#: solution is the (nearly) hard-margin separator.
SVM_C = 1e6

#: Iteration cap of the scikit-learn fit: bounds its time (milliseconds for hundreds of
#: points in low dimension, separable or not).
SVM_MAX_ITER = 1000

#: Stopping tolerance of the fit: tight, so that separable batches end up separated.
SVM_TOL = 1e-10

#: Largest dimension d of the class.
MAX_D = 4096


def as_real_rows(x: np.ndarray, d: int) -> np.ndarray:
    """A batch of points of R^d as a float64 ``(m, d)`` array (raises ``ValueError``)."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != d:
        raise ValueError(f"points must have shape (m, {d}), got {x.shape}")
    return x


class HalfspaceFunction(Function):
    """x -> [w.x + b > 0] on R^d. Representation: ``w`` (``(d,)`` float64) and ``b``.

    ``w = 0`` gives the constant [b > 0]. A batch ``(m, d)`` gives ``(m,)`` uint8.
    ``d`` is ``len(w)``; evaluation reads ``w`` and ``b`` only.
    """

    def __init__(self, w: np.ndarray, b: float):
        self.w = np.asarray(w, dtype=float).reshape(-1).copy()
        self.b = float(b)

    @property
    def d(self) -> int:
        return len(self.w)

    def margin(self, x: np.ndarray) -> np.ndarray:
        """w.x + b for each row, shape ``(m,)`` (the label is ``margin > 0``)."""
        return as_real_rows(x, self.d) @ self.w + self.b

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (self.margin(x) > 0).astype(np.uint8)

    def key(self) -> tuple:
        return ("halfspace", self.d, self.w.tobytes(), self.b)

    def __repr__(self) -> str:
        return f"HalfspaceFunction(w={np.array2string(self.w, precision=3)}, b={self.b:.3g})"


def _standard_form(f: HalfspaceFunction, dist: Gaussian) -> tuple[np.ndarray | None, float]:
    """``(u, t)`` with f(x) = 1 iff u.(x - mean)/scale > -t, u a unit vector, so
    Pr[f = 1] = Phi(t); for a constant f, ``(None, value)``."""
    length = float(np.linalg.norm(f.w))
    if length == 0.0:
        return None, float(f.b > 0)
    return f.w / length, float(f.w @ dist.mean + f.b) / (dist.scale * length)


def _orthant(h: float, k: float, angle: float) -> float:
    """Pr[A < h, B < k] for standard normals A, B with correlation cos(angle).

    Owen's (1956) closed form through his T function (``scipy.special.owens_t``):
    Phi2 = Phi(h)/2 + Phi(k)/2 - T(h, a_h) - T(k, a_k) - c, with
    a_h = (k - rho h)/(h sin), a_k = (h - rho k)/(k sin) and c = 1/2 when hk < 0 or
    (hk = 0 and h + k < 0). It takes the angle rather than rho so that near-parallel
    normals keep their accuracy: ``scipy.stats.multivariate_normal.cdf`` (which it
    matches to 1e-15 elsewhere, see tests/classes) refuses covariances with
    |rho| > 1 - 1e-9, and a translated hyperplane has rho = 1 up to rounding.
    Angles 0 and pi (rho = +-1 exactly) use Phi alone.
    """
    if angle == 0.0:
        return float(norm.cdf(min(h, k)))
    if angle == math.pi:
        return max(0.0, float(norm.cdf(h) - norm.cdf(-k)))
    rho, sin = math.cos(angle), math.sin(angle)
    if h == 0.0 and k == 0.0:
        return 0.25 + (math.pi / 2 - angle) / (2 * math.pi)
    with np.errstate(divide="ignore", invalid="ignore"):
        a_h = np.float64(k - rho * h) / np.float64(h * sin)
        a_k = np.float64(h - rho * k) / np.float64(k * sin)
    c = 0.5 if h * k < 0 or (h * k == 0 and h + k < 0) else 0.0
    value = 0.5 * norm.cdf(h) + 0.5 * norm.cdf(k) - owens_t(h, a_h) - owens_t(k, a_k) - c
    return float(min(1.0, max(0.0, value)))


def gaussian_distance(f: HalfspaceFunction, g: HalfspaceFunction, dist: Gaussian) -> float:
    """Pr[f != g] under the isotropic Gaussian ``dist``, in closed form.

    With f = 1 iff Z_f > -t_f (Z_f = u_f.(x - mean)/scale standard normal) and likewise
    for g, corr(Z_f, Z_g) = rho = cos(angle between u_f and u_g), and
    Pr[f != g] = Pr[f=1, g=0] + Pr[f=0, g=1] = Phi2(t_f, -t_g; -rho) + Phi2(-t_f, t_g; -rho):
    summing the two disagreement orthants directly (rather than P[f] + P[g] - 2 P[both])
    keeps small distances accurate. The angle comes from atan2(|v - (u.v)u|, u.v),
    accurate for nearly parallel normals where arccos(u.v) is not.
    """
    (u, t), (v, s) = _standard_form(f, dist), _standard_form(g, dist)
    if u is None and v is None:
        return abs(t - s)
    if u is None or v is None:
        const, slope = (t, s) if u is None else (s, t)
        return float(norm.cdf(-slope) if const == 1.0 else norm.cdf(slope))
    dot = float(u @ v)
    angle = math.atan2(float(np.linalg.norm(v - dot * u)), dot)
    opposite = math.pi - angle
    return min(1.0, _orthant(t, -s, opposite) + _orthant(-t, s, opposite))


@register("classes", "halfspaces")
class Halfspaces(FunctionClass):
    """Halfspaces x -> (w.x + b > 0) on R^d (VC dimension d + 1), points float rows.

    Points are rows of R^d (``point_shape == (d,)``); a member is a
    :class:`HalfspaceFunction`. VC = d + 1 (affine halfspaces in R^d; Radon's theorem
    splits any d + 2 points into two parts whose convex hulls meet, and that
    labelling cannot be realised). The shattered set is {0, e_1, ..., e_d}, realised by
    b = +0.5 if label(0) else -0.5 and w_i = (2 label_i - 1) - b. Default distribution:
    the standard Gaussian N(0, I_d); ``random_member``: w ~ N(0, I_d), b ~ N(0, 1).

    ``exact_distance`` under an isotropic Gaussian (any mean and scale) in closed form
    (a bivariate normal orthant probability, by Owen's T function);
    ``None`` otherwise. ``cheapest_flip`` translates the hyperplane just past x (the
    cheapest flip among translates of f, not over all halfspaces). ``fit_member``:
    scikit-learn's linear SVM (``LinearSVC``) with a large C and an iteration cap.
    """

    test_spec = "halfspaces:d=2"

    def __init__(self, d: int = 5):
        check(1 <= d <= MAX_D, f"halfspaces: d must be in [1, {MAX_D}], got d={d}")
        self.d = int(d)

    @property
    def vc_dimension(self) -> int:
        return self.d + 1

    @property
    def point_shape(self) -> tuple[int, ...]:
        return (self.d,)

    def default_distribution(self) -> Distribution:
        return Gaussian(self.d)

    def shattered_set(self) -> np.ndarray:
        return np.vstack([np.zeros((1, self.d)), np.eye(self.d)])

    def realise(self, points: np.ndarray, labels: np.ndarray) -> HalfspaceFunction:
        """The closed form above on points of the shattered set; for other points a
        separating (w, b) from a linear feasibility programme (``ParameterError`` when
        the labelling is not linearly separable)."""
        points = as_real_rows(points, self.d)
        labels = (np.asarray(labels).reshape(-1) == 1)
        check(len(points) == len(labels), "halfspaces: realise needs one label per point")
        is_origin = np.all(points == 0, axis=1)
        is_unit = (np.sum(points != 0, axis=1) == 1) & (points.max(axis=1) == 1)
        if np.all(is_origin | is_unit) and self._distinct(points):
            b = 0.5 if np.any(labels[is_origin]) else -0.5
            w = np.zeros(self.d)
            axes = np.argmax(points[is_unit], axis=1)
            w[axes] = (2.0 * labels[is_unit] - 1.0) - b
            return HalfspaceFunction(w, b)
        return self._separate(points, labels)

    @staticmethod
    def _distinct(points: np.ndarray) -> bool:
        return len(np.unique(points, axis=0)) == len(points)

    def _separate(self, points: np.ndarray, labels: np.ndarray) -> HalfspaceFunction:
        """Solve sign_i (w.x_i + b) >= 1 (sign +1 for positives, -1 for negatives)."""
        sign = np.where(labels, 1.0, -1.0)
        A = -sign[:, None] * np.hstack([points, np.ones((len(points), 1))])
        res = linprog(np.zeros(self.d + 1), A_ub=A, b_ub=-np.ones(len(points)),
                      bounds=[(None, None)] * (self.d + 1), method="highs")
        f = HalfspaceFunction(res.x[:-1], res.x[-1]) if res.status == 0 else None
        if f is None or not np.array_equal(f(points), labels.astype(np.uint8)):
            raise ParameterError("halfspaces: no halfspace realises these labels (not linearly separable)")
        return f

    def contains(self, f: Function) -> bool:
        """A :class:`HalfspaceFunction` exactly (no subclass) whose ``w`` is a plain
        finite ``(d,)`` float64 array and whose ``b`` is a finite float."""
        f = exact_member(f, HalfspaceFunction)
        return (f is not None and is_array(f.w, (self.d,), np.float64) and bool(np.all(np.isfinite(f.w)))
                and type(f.b) is float and math.isfinite(f.b))

    def random_member(self, rng: np.random.Generator) -> HalfspaceFunction:
        return HalfspaceFunction(rng.standard_normal(self.d), rng.standard_normal())

    def _is_gaussian(self, dist: Distribution) -> bool:
        return isinstance(dist, Gaussian) and dist.d == self.d

    def exact_distance(self, f: Function, g: Function, dist: Distribution) -> float | None:
        if not self._is_gaussian(dist):
            return None
        return gaussian_distance(unwrap(f), unwrap(g), dist)

    def cheapest_flip(self, f: Function, x: np.ndarray, dist: Distribution) -> HalfspaceFunction:
        """Same w, b moved so that x just crosses: b' = -w.x if f(x) = 1 (then
        w.x + b' = 0 and x is labelled 0), else the float just above -w.x. f and g then
        differ on the slab between the two parallel hyperplanes (its Gaussian mass is
        |Phi(t_f) - Phi(t_g)|). This is the cheapest translate, not always the cheapest
        halfspace: a rotation can cost less.

        A constant f (w = 0) has no hyperplane to move: g is the halfspace through x
        perpendicular to x - mean (the distribution's mean for a Gaussian, else the
        origin; e_1 when x is the mean), the least Gaussian mass that still flips x:
        Phi(-|x - mean| / scale).
        """
        f = unwrap(f)
        point = as_real_rows(np.asarray(x, dtype=float).reshape(1, -1), self.d)
        w, fx = f.w, int(f(point)[0])
        if not np.any(w):
            centre = dist.mean if self._is_gaussian(dist) else np.zeros(self.d)
            direction = point[0] - centre
            length = float(np.linalg.norm(direction))
            u = direction / length if length > 0 else np.eye(self.d)[0]
            # f = 1 everywhere: reject the halfspace beyond x; f = 0: accept only it
            w = -u if fx == 1 else u
        s = float((point @ w)[0])
        b = -s if fx == 1 else float(np.nextafter(-s, np.inf))
        return HalfspaceFunction(w, b)

    def fit_member(self, X: np.ndarray, Y: np.ndarray) -> HalfspaceFunction:
        """scikit-learn's ``LinearSVC(C=1e6, dual="auto", max_iter=1000, tol=1e-10)``
        (liblinear, squared hinge loss): on separable data the (nearly) hard-margin
        separator, consistent with the batch in practice (not guaranteed: the fit stops
        after 1000 iterations); on non-separable data a soft-margin fit, not an exact
        minimiser of the mistakes (that is NP-hard). The iteration cap bounds the time:
        a few milliseconds for hundreds of points in low dimension, which matters to
        the Boltzmann cover that refits batches with a few labels flipped (a kernel
        ``SVC`` with C=1e6 took seconds to minutes on such batches). A batch with one
        label gives the constant member (w = 0, b = +-1)."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.svm import LinearSVC

        X = as_real_rows(X, self.d)
        Y = (np.asarray(Y).reshape(-1) == 1).astype(np.uint8)
        if len(Y) == 0 or Y.min() == Y.max():
            return HalfspaceFunction(np.zeros(self.d), 1.0 if len(Y) and Y[0] == 1 else -1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            svm = LinearSVC(C=SVM_C, dual="auto", max_iter=SVM_MAX_ITER, tol=SVM_TOL).fit(X, Y)
        return HalfspaceFunction(svm.coef_[0], svm.intercept_[0])
