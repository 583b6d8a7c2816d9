"""Prediction strategies: the learners inside the `vote` family of defenders.

A learner is batched over voters: ``predict(cls, X, Y, queries)`` trains one copy on
each batch ``X[v]`` with labels ``Y[v]`` and predicts every query, returning a
``(V, Q)`` uint8 array. Batching over voters is what makes a 201-voter ensemble cost
about as much as a handful of numpy calls.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

from ..batches import Batches
from ..classes.base import FunctionClass
from ..errors import IncompatibleError
from ..registry import Component, build

#: Learners a ``vote`` defender tries, in order, on a class that names no natural learner
#: (``FunctionClass.natural_learner``): the closure algorithm where the class is
#: intersection-closed (guarantee d/(k+1)), else its empirical-risk minimiser, else a
#: scikit-learn classifier, which plays on any class.
NATURAL_ORDER = ("closure", "erm", "estimator")


class Learner(Component, ABC):
    """A prediction strategy P: a training batch and a query in, a predicted label out."""

    name: str = "learner"
    #: True when predictions depend only on the set of distinct labelled examples (not on
    #: repeats): such learners are trained on each batch's distinct points only.
    set_only: bool = False

    def check_class(self, cls: FunctionClass) -> None:
        """Raise :class:`~defendability.errors.IncompatibleError` (one line) if this
        learner cannot predict on ``cls``. The defenders built on a learner call it
        before any round (``Defender.check_class``), so an impossible match fails before
        any work. The default accepts every class."""

    @abstractmethod
    def predict(self, cls: FunctionClass, X: np.ndarray, Y: np.ndarray, queries: np.ndarray) -> np.ndarray:
        """Predictions of V independently trained copies.

        ``X``: ``(V, k, *point_shape)`` training points; ``Y``: ``(V, k)`` uint8 labels;
        ``queries``: ``(Q, *point_shape)``. Returns ``(V, Q)`` uint8.
        """

    def predict_batches(self, cls: FunctionClass, batches: Batches, labels: np.ndarray,
                        queries: np.ndarray) -> np.ndarray:
        """Predictions of ``batches.V`` copies trained on ``batches``, whose points are
        labelled ``labels`` (shape ``(u,)``). Returns ``(V, Q)`` uint8."""
        idx = batches.distinct() if self.set_only else batches.indices()
        return self.predict(cls, batches.points[idx], labels[idx], queries)

    def fit_batches(self, cls: FunctionClass, batches: Batches,
                    labels: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        """The V copies trained on ``batches`` (labelled ``labels``, ``(u,)``), as a
        predictor: queries ``(Q, *point_shape)`` -> ``(V, Q)`` uint8. A detector calls it
        once in ``fit`` and the predictor for every batch it scores. The default trains
        at each call (``predict_batches``): right for learners whose training is a few
        array operations; learners with real training (``students``) train once here."""
        return lambda queries: self.predict_batches(cls, batches, labels, queries)

    def ensemble_size(self, cls: FunctionClass, eps: float) -> tuple[int, int] | None:
        """``(voters, k)`` for a ``vote`` defender given no sizes, when this learner has
        its own (networks need far larger batches than floor(1/(4 eps))); ``None``: the
        theory's defaults."""
        return None

    def expected_error(self, cls: FunctionClass, k: int) -> float | None:
        """The guarantee e(k) on the expected error after k examples, if one is known."""
        return None

    def sample_size(self, cls: FunctionClass, eta: float) -> int | None:
        """m_A(eta): examples after which the expected error is at most ``eta``
        (the PAC sample size used by the efficient defender), if known."""
        return None



def natural_learner(cls: FunctionClass) -> Learner:
    """The learner a ``vote`` defender uses on ``cls`` when it is given none: the class's
    own (``cls.natural_learner``, e.g. ``span`` for parities), else the first of
    :data:`NATURAL_ORDER` whose ``check_class`` accepts ``cls``."""
    if cls.natural_learner is not None:
        learner = build("learners", cls.natural_learner)
        learner.check_class(cls)
        return learner
    for spec in NATURAL_ORDER:
        learner = build("learners", spec)
        try:
            learner.check_class(cls)
        except IncompatibleError:
            continue
        return learner
    raise IncompatibleError(f"no learner plays on class {cls.name!r} (tried {', '.join(NATURAL_ORDER)}); "
                            "give one with learner=...")


def check_batch(cls: FunctionClass, X: np.ndarray, Y: np.ndarray, queries: np.ndarray) -> None:
    """Raise ``ValueError`` unless ``X`` is ``(V, k, *point_shape)``, ``Y`` is ``(V, k)``
    and ``queries`` is ``(Q, *point_shape)`` for ``cls``'s point shape.

    Used by every learner.
    """
    point_shape = tuple(cls.point_shape)
    nd = len(point_shape)
    if X.ndim != 2 + nd or tuple(X.shape[2:]) != point_shape:
        raise ValueError(f"X must have shape (V, k, *{point_shape}), got {X.shape}")
    if Y.shape != X.shape[:2]:
        raise ValueError(f"Y must have shape (V, k) = {X.shape[:2]}, got {Y.shape}")
    if queries.ndim != 1 + nd or tuple(queries.shape[1:]) != point_shape:
        raise ValueError(f"queries must have shape (Q, *{point_shape}), got {queries.shape}")


def pac_sample_size(d: int, eta: float) -> int:
    """The least k >= 0 with d/(k+1) <= eta: ceil(d/eta) - 1 (derived).

    The correction loops undo a rounding error of ``d/eta`` in either direction.
    """
    k = max(0, math.ceil(d / eta) - 1)
    while d / (k + 1) > eta:
        k += 1
    while k > 0 and d / k <= eta:
        k -= 1
    return k
