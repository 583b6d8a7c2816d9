"""A generic learner: any of a menu of scikit-learn classifiers, for any class whose points
are fixed-length vectors.

The class-specific learners (closure, span, one-inclusion, erm) carry guarantees but need
structure (intersection-closed classes, linear algebra, an enumerable class, a class
minimiser). This one needs none: it is the "black-box learner a practitioner would try",
and it is how the suite shows that a class is *not* learned (keyed hashes, PRF oracles:
accuracy 1/2 on unseen inputs, so a `vote` defender built on it is at a coin flip).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..classes.base import FunctionClass
from ..errors import check
from ..registry import Match, register
from .base import Learner, check_batch


def _menu() -> dict[str, Callable[[int], Any]]:
    # imported here: scikit-learn is a core dependency, but importing it costs ~0.5 s
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.tree import DecisionTreeClassifier

    return {
        "knn": lambda seed: KNeighborsClassifier(n_neighbors=5),
        "nearest": lambda seed: KNeighborsClassifier(n_neighbors=1),
        "tree": lambda seed: DecisionTreeClassifier(random_state=seed),
        "forest": lambda seed: RandomForestClassifier(n_estimators=50, random_state=seed),
        "logistic": lambda seed: LogisticRegression(max_iter=500),
    }


MODELS = ("knn", "nearest", "tree", "forest", "logistic")


@register("learners", "estimator")
class Estimator(Learner):
    """A scikit-learn classifier per voter (``model``: knn, nearest, tree, forest,
    logistic), trained on the voter's batch flattened to ``(k, prod(point_shape))``.

    Improper (its predictions need not be a member of the class) and without a
    guarantee: ``expected_error`` and ``sample_size`` are ``None``. A batch whose labels
    are all equal predicts that label (scikit-learn refuses one-class fits; a constant is
    what any consistent learner would say), and ``knn`` on fewer than 5 examples uses
    them all. ``seed`` fixes the randomised models (tree, forest), so predictions are a
    function of the batch. Cost: V scikit-learn fits, a Python loop over voters.
    """

    def __init__(self, model: str = "knn", seed: int = 0):
        check(model in MODELS, f"estimator: model must be one of {', '.join(MODELS)}, got {model!r}")
        check(isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0,
              f"estimator: seed must be an integer >= 0, got {seed!r}")
        self.model = model
        self.seed = seed

    test_spec = "estimator:model=nearest"
    test_match = Match(cls="halfspaces:d=2")

    def predict(self, cls: FunctionClass, X: np.ndarray, Y: np.ndarray, queries: np.ndarray) -> np.ndarray:
        X, Y, queries = np.asarray(X), np.asarray(Y).astype(np.uint8, copy=False), np.asarray(queries)
        check_batch(cls, X, Y, queries)
        V, k = X.shape[:2]
        width = math.prod(X.shape[2:])
        flat_q = queries.reshape(len(queries), width).astype(np.float64)
        make = _menu()[self.model]
        out = np.empty((V, len(queries)), dtype=np.uint8)
        for v in range(V):
            y = Y[v]
            if k == 0 or np.all(y == y[0]):
                out[v] = y[0] if k else 0
                continue
            est = make(self.seed)
            if self.model == "knn":
                est.set_params(n_neighbors=min(5, k))
            est.fit(X[v].reshape(k, width).astype(np.float64), y)
            out[v] = np.asarray(est.predict(flat_q)).astype(np.uint8, copy=False)
        return out
