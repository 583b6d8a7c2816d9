"""Trained classifiers over a dataset's input space (THEORY.md §6): the members the GKVZ
backdoors are planted in.

The class is the input space of a :class:`~defendability.data.Dataset` (points are real
rows of the dataset's dimension d) together with the models a trainer may release on it:

- :class:`TrainedClassifier`: a linear model x -> [<coef, x> + intercept > 0] (a fitted
  scikit-learn logistic regression, read into its arrays);
- :class:`SignedClassifier`: a :class:`TrainedClassifier` with the signature backdoor
  of GKVZ (:mod:`defendability.crypto.signatures`): the base model and the verifier
  (layout and verification key; for Ed25519 the *public* key only);
- :class:`RFFModel`: a random-Fourier-feature classifier (:mod:`defendability.models.rff`)
  as released, clean or CLWE-backdoored alike: its frequencies, offsets and head.
  The secret of a backdoored one is not part of the member; nothing in the arrays says
  which kind it is (that is the point of the construction);
- :class:`ReLUModel`: a random-ReLU energy network (:mod:`defendability.models.sparse_pca`)
  as released, clean or sparse-PCA-backdoored alike: its hidden weights and its head
  (the secret sparse direction is not part of the member either).

The default distribution is the empirical distribution of the dataset's *test* inputs
(the natural inputs the model will meet); the training split is what attackers and
:meth:`Classifiers.random_member` train on.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ..crypto.quantise import Grid
from ..crypto.signatures import BackdooredModel, Verifier
from ..data.dataset import Dataset
from ..data.digits import LABELS, MAX_UPSAMPLE, METHODS, digits
from ..data.gaussian import MAX_D, two_gaussians
from ..errors import IncompatibleError, ParameterError, check
from ..models.rff import MAX_FEATURES, RFFClassifier
from ..models.sparse_pca import MAX_FEATURES as RELU_MAX_FEATURES
from ..models.sparse_pca import RandomReLUClassifier
from ..registry import register
from ..spaces import Distribution, Empirical
from ._signed import canonical_verifier
from .base import (
    Function,
    FunctionClass,
    exact_member,
    is_array,
    unwrap,
)

DATASETS = ("digits", "gaussian")

#: Iteration cap of the logistic regressions (lbfgs): converges in well under it on the
#: bundled tasks; bounds the time of a fit.
LOGISTIC_MAX_ITER = 1000

#: Trained logistic regressions kept in memory (keyed by dataset and training seed), so
#: that an attacker's replayed ``setup`` (trace access) costs no new training.
TRAINED_CACHE = 64


def _as_rows(x: np.ndarray, d: int, who: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != d:
        raise ParameterError(f"{who}: points must have shape (size, {d}), got {x.shape}")
    return x


class TrainedClassifier(Function):
    """A linear classifier x -> [<coef, x> + intercept > 0] (what a binary scikit-learn
    ``LogisticRegression.predict`` computes). Representation: ``coef`` ``(d,)`` float64
    and ``intercept`` (float). A batch ``(size, d)`` gives ``(size,)`` uint8."""

    def __init__(self, coef: np.ndarray, intercept: float):
        self.coef = np.array(coef, dtype=np.float64).reshape(-1)
        self.intercept = float(intercept)

    @classmethod
    def from_estimator(cls, estimator: Any) -> TrainedClassifier:
        """The member of a fitted binary scikit-learn linear model (``coef_`` ``(1, d)``,
        ``intercept_`` ``(1,)``), classes 0 and 1."""
        classes = getattr(estimator, "classes_", None)
        check(classes is not None and list(np.asarray(classes)) == [0, 1],
              "trained classifier: the estimator must be fitted on the labels 0 and 1")
        return cls(np.asarray(estimator.coef_).reshape(-1), float(np.asarray(estimator.intercept_).reshape(-1)[0]))

    @property
    def d(self) -> int:
        return len(self.coef)

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """<coef, x> + intercept per row: ``(size,)`` float64."""
        return _as_rows(x, self.d, "trained classifier") @ self.coef + self.intercept

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (self.decision_function(x) > 0).astype(np.uint8)

    def key(self) -> tuple:
        return ("trained-linear", self.coef.tobytes(), self.intercept)

    def __repr__(self) -> str:
        return f"TrainedClassifier(d={self.d}, intercept={self.intercept:.3g})"


class SignedClassifier(Function):
    """A :class:`TrainedClassifier` with the GKVZ signature backdoor: the signed target
    where an input carries a valid tag, else the base model's label.

    Representation: ``base`` (a :class:`TrainedClassifier`) and ``verifier`` (a
    :class:`~defendability.crypto.signatures.Verifier`: the public carrier layout, the
    scheme and its verification key; for Ed25519 the public key, for HMAC the secret
    key, for the checksum nothing). A batch ``(size, d)`` gives ``(size,)`` uint8.
    """

    def __init__(self, base: TrainedClassifier, verifier: Verifier):
        self.base, self.verifier = base, verifier

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _as_rows(x, self.base.d, "signed classifier")
        return BackdooredModel(self.base, self.verifier).predict(x).astype(np.uint8)

    def key(self) -> tuple:
        layout, grid = self.verifier.layout, self.verifier.layout.grid
        return ("signed", self.base.key(), self.verifier.scheme, self.verifier.verification_key, layout.d,
                layout.classes, layout.bits, layout.carrier_seed, grid.low, grid.step, grid.levels)

    def __repr__(self) -> str:
        return f"SignedClassifier({self.base!r}, {self.verifier!r})"


class RFFModel(Function):
    """A released random-Fourier-feature classifier (clean or CLWE-backdoored alike):
    x -> [sum_i coef_i sqrt(2/m) cos(2 pi (scale <weights_i, x> + offsets_i)) > 0].

    Representation: ``weights`` ``(m, d)``, ``offsets`` ``(m,)``, ``coef`` ``(m,)``
    (float64) and ``scale`` (float). A batch ``(size, d)`` gives ``(size,)`` uint8.
    """

    def __init__(self, weights: np.ndarray, offsets: np.ndarray, coef: np.ndarray, scale: float):
        self.weights = np.array(weights, dtype=np.float64)
        self.offsets = np.array(offsets, dtype=np.float64).reshape(-1)
        self.coef = np.array(coef, dtype=np.float64).reshape(-1)
        self.scale = float(scale)

    @classmethod
    def from_model(cls, model: RFFClassifier) -> RFFModel:
        """The member of a fitted :class:`RFFClassifier` (for a backdoored one, pass
        ``model.released()``: only the arrays are read, never a key)."""
        return cls(model.weights_, model.offsets_, model.coef_, model.scale)

    @property
    def d(self) -> int:
        return self.weights.shape[1]

    def _model(self) -> RFFClassifier:
        # the evaluation is the library's RFF code; the ridge penalty only matters for fit
        model = RFFClassifier(len(self.coef), self.scale)
        model.weights_, model.offsets_, model.coef_ = self.weights, self.offsets, self.coef
        return model

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """<coef, phi(x)> per row: ``(size,)`` float64."""
        return self._model().decision_function(_as_rows(x, self.d, "RFF model"))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (self.decision_function(x) > 0).astype(np.uint8)

    def key(self) -> tuple:
        return ("rff", self.weights.shape, self.weights.tobytes(), self.offsets.tobytes(), self.coef.tobytes(),
                self.scale)

    def __repr__(self) -> str:
        return f"RFFModel(d={self.d}, features={len(self.coef)}, scale={self.scale:.4g})"


class ReLUModel(Function):
    """A released random-ReLU energy network (clean or sparse-PCA-backdoored alike):
    x -> [head_coef (e(x) - energy_mean) / energy_sd + head_intercept > 0] with the
    energy e(x) = sqrt((1/m) sum_i ReLU(<weights_i, x>)^2).

    Representation: ``weights`` ``(m, d)`` float64 and the floats ``energy_mean``,
    ``energy_sd`` (> 0), ``head_coef``, ``head_intercept``. A batch ``(size, d)`` gives
    ``(size,)`` uint8.
    """

    def __init__(self, weights: np.ndarray, energy_mean: float, energy_sd: float, head_coef: float,
                 head_intercept: float):
        self.weights = np.array(weights, dtype=np.float64)
        self.energy_mean, self.energy_sd = float(energy_mean), float(energy_sd)
        self.head_coef, self.head_intercept = float(head_coef), float(head_intercept)

    @classmethod
    def from_model(cls, model: RandomReLUClassifier) -> ReLUModel:
        """The member of a fitted :class:`RandomReLUClassifier` (for a backdoored one, pass
        ``model.released()``: only the arrays are read, never a key)."""
        return cls(model.weights_, model.energy_mean_, model.energy_sd_, model.head_coef_, model.head_intercept_)

    @property
    def d(self) -> int:
        return self.weights.shape[1]

    def _model(self) -> RandomReLUClassifier:
        # the evaluation is the library's network code
        model = RandomReLUClassifier(self.weights.shape[0])
        model.weights_, model.energy_mean_, model.energy_sd_ = self.weights, self.energy_mean, self.energy_sd
        model.head_coef_, model.head_intercept_ = self.head_coef, self.head_intercept
        return model

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """The head's logit per row: ``(size,)`` float64."""
        return self._model().decision_function(_as_rows(x, self.d, "ReLU model"))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (self.decision_function(x) > 0).astype(np.uint8)

    def key(self) -> tuple:
        return ("relu", self.weights.shape, self.weights.tobytes(), self.energy_mean, self.energy_sd,
                self.head_coef, self.head_intercept)

    def __repr__(self) -> str:
        return f"ReLUModel(d={self.d}, features={self.weights.shape[0]})"


@functools.lru_cache(maxsize=8)
def _dataset(data: str, upsample: int, label: str, method: str, d: int, separation: float, train: int, test: int,
             seed: int) -> Dataset:
    # a Dataset is immutable (read-only arrays): one copy serves every class instance
    if data == "digits":
        return digits(label=label, upsample=upsample, method=method, seed=seed)
    return two_gaussians(d=d, separation=separation, train=train, test=test, seed=seed)


@functools.lru_cache(maxsize=TRAINED_CACHE)
def _logistic(data_key: tuple, seed: int) -> TrainedClassifier:
    """A logistic regression fitted on a bootstrap of the training split of the dataset
    ``_dataset(*data_key)``, drawn with ``numpy.random.default_rng(seed)`` (deterministic:
    lbfgs). Callers get copies (:meth:`Classifiers.trained`): the cached one is never handed out."""
    from sklearn.linear_model import LogisticRegression

    dataset = _dataset(*data_key)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(dataset.X_train), size=len(dataset.X_train))
    X, y = dataset.X_train[rows], dataset.y_train[rows]
    if len(np.unique(y)) < 2:  # a bootstrap of one class only: fall back to the full split
        X, y = dataset.X_train, dataset.y_train
    return TrainedClassifier.from_estimator(LogisticRegression(max_iter=LOGISTIC_MAX_ITER).fit(X, y))


def _finite_float(value: object) -> bool:
    return type(value) is float and math.isfinite(value)


@register("classes", "classifiers")
class Classifiers(FunctionClass):
    """Trained classifiers on a dataset's inputs (R^d): linear, signature-backdoored, RFF,
    random-ReLU.

    Parameters: ``data`` (``digits``: scikit-learn's 8x8 digits on the 8-bit grid, with
    ``upsample``, ``label``, ``method``; ``gaussian``: two unit Gaussians in R^``d``
    ``separation`` apart, ``train`` and ``test`` points), ``seed`` (the split or the draw).
    Points are float64 rows ``(d,)``; the default distribution is the empirical
    distribution of the test inputs. Members: :class:`TrainedClassifier`,
    :class:`SignedClassifier`, :class:`RFFModel`, :class:`ReLUModel` (exact types; nested
    objects checked).

    ``vc_dimension`` reports d + 1, the VC dimension of the linear members only: the
    backdoored and RFF members are outside any VC accounting, and the number serves only
    to label eps * d in reports. There is no shattered set to realise (the members are
    trained, not built to order): ``shattered_set`` and ``realise`` raise
    ``IncompatibleError``. ``random_member``: a logistic regression fitted on a bootstrap
    of the training split (seeded from the rng, cached). Distances: the referee's exact
    sum over the finite default distribution.
    """

    test_spec = "classifiers:data=gaussian,d=4,train=40,test=40"

    def __init__(self, data: str = "digits", upsample: int = 1, label: str = "high", method: str = "nearest",
                 d: int = 32, separation: float = 2.5, train: int = 1000, test: int = 1000, seed: int = 0):
        check(data in DATASETS, f"classifiers: data must be one of {', '.join(DATASETS)}, got {data!r}")
        check(isinstance(upsample, int) and not isinstance(upsample, bool) and 1 <= upsample <= MAX_UPSAMPLE,
              f"classifiers: upsample must be an integer in [1, {MAX_UPSAMPLE}], got {upsample!r}")
        check(label in LABELS, f"classifiers: label must be one of {', '.join(LABELS)}, got {label!r}")
        check(method in METHODS, f"classifiers: method must be one of {', '.join(METHODS)}, got {method!r}")
        check(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= MAX_D,
              f"classifiers: d must be an integer in [1, {MAX_D}], got {d!r}")
        check(isinstance(separation, (int, float)) and not isinstance(separation, bool)
              and math.isfinite(separation) and separation >= 0,
              f"classifiers: separation must be a finite number >= 0, got {separation!r}")
        for name, value in (("train", train), ("test", test)):
            check(isinstance(value, int) and not isinstance(value, bool) and value >= 2,
                  f"classifiers: {name} must be an integer >= 2, got {value!r}")
        check(isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0,
              f"classifiers: seed must be an integer >= 0, got {seed!r}")
        self.data, self.seed = data, seed
        # every parameter as given, for get_params: ``d`` names the dataset's dimension
        self._given = {"data": data, "upsample": upsample, "label": label, "method": method, "d": d,
                       "separation": float(separation), "train": train, "test": test, "seed": seed}
        if data == "digits":
            self._params = {"upsample": upsample, "label": label, "method": method}
        else:
            self._params = {"d": d, "separation": float(separation), "train": train, "test": test}
        self._data_key = (data, upsample, label, method, d, float(separation), train, test, seed)
        self.dataset = _dataset(*self._data_key)
        self._distribution = Empirical(self.dataset.X_test)

    @property
    def d(self) -> int:
        """Coordinates of a point."""
        return self.dataset.d

    @property
    def vc_dimension(self) -> int:
        return self.d + 1

    @property
    def point_shape(self) -> tuple[int, ...]:
        return (self.d,)

    def default_distribution(self) -> Distribution:
        return self._distribution

    def grid(self) -> Grid:
        """The quantisation grid inputs are read on: the dataset's own grid where it has
        one (digits: 256 levels of step 1/255 on [0, 1]), else the grid of step 1/64 on
        [-16, 16) (2,048 levels), which covers the Gaussian tasks' values."""
        step, (low, high) = self.dataset.step, self.dataset.value_range
        if step is not None and math.isfinite(low) and math.isfinite(high):
            return Grid(low, step, round((high - low) / step) + 1)
        return Grid(-16.0, 1.0 / 64.0, 2048)

    def shattered_set(self) -> np.ndarray:
        raise IncompatibleError("classifiers: trained models have no shattered set to realise; the reported "
                                "VC dimension d + 1 is the linear members' and only labels eps * d")

    def realise(self, points: np.ndarray, labels: np.ndarray) -> Function:
        raise IncompatibleError("classifiers: trained models are not built to realise a labelling; "
                                "use random_member or an attacker's training")

    # -- membership ------------------------------------------------------------------
    def _linear_ok(self, f: object) -> bool:
        f = exact_member(f, TrainedClassifier)
        return (f is not None and is_array(f.coef, (self.d,), np.float64) and bool(np.all(np.isfinite(f.coef)))
                and _finite_float(f.intercept))

    def _canonical_verifier(self, verifier: object) -> Verifier | None:
        """:func:`~defendability.crypto.signatures.canonical_verifier` for this class's
        inputs and two classes."""
        return canonical_verifier(verifier, self.d, 2)

    def _rff_ok(self, f: object) -> bool:
        f = exact_member(f, RFFModel)
        if f is None or type(f.coef) is not np.ndarray:
            return False
        m = len(f.coef)
        arrays_ok = (1 <= m <= MAX_FEATURES and is_array(f.weights, (m, self.d), np.float64)
                     and is_array(f.offsets, (m,), np.float64) and is_array(f.coef, (m,), np.float64))
        return (arrays_ok and all(bool(np.all(np.isfinite(a))) for a in (f.weights, f.offsets, f.coef))
                and _finite_float(f.scale) and f.scale > 0)

    def _relu_ok(self, f: object) -> bool:
        f = exact_member(f, ReLUModel)
        if f is None or type(f.weights) is not np.ndarray or f.weights.ndim != 2:
            return False
        m = f.weights.shape[0]
        scalars = (f.energy_mean, f.energy_sd, f.head_coef, f.head_intercept)
        return (1 <= m <= RELU_MAX_FEATURES and is_array(f.weights, (m, self.d), np.float64)
                and bool(np.all(np.isfinite(f.weights))) and all(_finite_float(v) for v in scalars)
                and f.energy_sd > 0)

    def contains(self, f: Function) -> bool:
        """An exact :class:`TrainedClassifier` (finite ``(d,)`` float64 coef, float
        intercept), :class:`SignedClassifier` (whose base passes that check and whose
        verifier, layout and grid are exact types forming a valid layout for d inputs and
        two classes, with the canonical carriers) or :class:`RFFModel` (finite float64
        arrays ``(m, d)``, ``(m,)``, ``(m,)``, a positive float scale) or :class:`ReLUModel`
        (finite float64 weights ``(m, d)``, finite float head scalars, a positive
        ``energy_sd``); no instance
        attribute may hide a method (:func:`~defendability.classes.base.shadows_behaviour`)."""
        if type(unwrap(f)) is SignedClassifier:
            signed = exact_member(f, SignedClassifier)
            return (signed is not None and self._linear_ok(vars(signed).get("base"))
                    and self._canonical_verifier(vars(signed).get("verifier")) is not None)
        return self._linear_ok(f) or self._rff_ok(f) or self._relu_ok(f)

    def rebuild(self, f: Function) -> Function:
        """A fresh member from copies of ``f``'s checked arrays (and, for a signed model, a
        verifier rebuilt from its parameters: the carriers are recomputed, the key copied)."""
        f = unwrap(f)
        if type(f) is TrainedClassifier:
            return TrainedClassifier(f.coef.copy(), f.intercept)
        if type(f) is SignedClassifier:
            return SignedClassifier(TrainedClassifier(f.base.coef.copy(), f.base.intercept),
                                    self._canonical_verifier(f.verifier))
        if type(f) is ReLUModel:
            return ReLUModel(f.weights.copy(), f.energy_mean, f.energy_sd, f.head_coef, f.head_intercept)
        return RFFModel(f.weights.copy(), f.offsets.copy(), f.coef.copy(), f.scale)

    def trained(self, seed: int) -> TrainedClassifier:
        """The logistic regression fitted on a bootstrap of the training split drawn with
        ``seed`` (cached: the same seed returns the same member without refitting)."""
        check(isinstance(seed, (int, np.integer)) and 0 <= int(seed) < 1 << 63,
              f"classifiers: a training seed must be an integer in [0, 2**63), got {seed!r}")
        cached = _logistic(self._data_key, int(seed))
        return TrainedClassifier(cached.coef.copy(), cached.intercept)

    def random_member(self, rng: np.random.Generator) -> TrainedClassifier:
        return self.trained(int(rng.integers(0, 1 << 63)))

    def get_params(self) -> dict[str, Any]:
        """Every constructor parameter as given (the attribute ``d`` is the dataset's
        dimension, which for digits is not the parameter ``d``)."""
        return dict(self._given)

    def describe(self) -> dict[str, Any]:
        """The parameters that apply to this ``data``, for reports (a valid SPEC)."""
        return {"name": self.name, "data": self.data, **self._params, "seed": self.seed}
