"""Empirical risk minimisation: fit a member to each voter's batch, then evaluate it."""

from __future__ import annotations

import numpy as np

from ..classes.base import FunctionClass
from ..errors import IncompatibleError, check
from ..registry import Match, register
from .base import Learner, check_batch


@register("learners", "erm")
class ERM(Learner):
    """Empirical risk minimisation through the class's fit_member (halfspaces, intervals, ...).

    Each voter v fits ``cls.fit_member(X[v], Y[v])``, a member with the fewest mistakes
    on its batch, and predicts with it: ``X`` ``(V, k, *point_shape)``, ``Y`` ``(V, k)``
    uint8, ``queries`` ``(Q, *point_shape)`` give ``(V, Q)`` uint8. The minimiser is the
    class's: scikit-learn for halfspaces, runs for intervals and thresholds, closure
    for subsets and conjunctions, elimination for parities, lookup for tables. A class
    without ``fit_member`` raises ``IncompatibleError``.

    Guarantee: none of the d/(k+1) kind. The general bound for a consistent ERM is
    O((d/k) log(k/d)), and some classes have ERMs that attain it; which consistent
    member the minimiser returns also decides how far one poisoned point moves it.
    So ``expected_error`` is ``None`` unless the class states one for its minimiser
    through an optional method ``erm_expected_error(k) -> float | None`` (an
    extension of the FunctionClass hooks, read with ``getattr``), and ``sample_size``
    stays ``None``. Cost: V calls to ``fit_member`` and V evaluations of Q points, a
    Python loop over voters, because the minimisers differ too much between classes
    to batch here.
    """

    test_match = Match(cls="intervals:k=2")

    def check_class(self, cls: FunctionClass) -> None:
        """``IncompatibleError`` for a class without an empirical-risk minimiser."""
        if not cls.has_erm():
            raise IncompatibleError(f"erm learner: class {cls.name!r} has no empirical-risk minimiser (fit_member)")

    def predict(self, cls: FunctionClass, X: np.ndarray, Y: np.ndarray, queries: np.ndarray) -> np.ndarray:
        X, Y, queries = np.asarray(X), np.asarray(Y), np.asarray(queries)
        check_batch(cls, X, Y, queries)
        out = np.empty((X.shape[0], len(queries)), dtype=np.uint8)
        for v in range(X.shape[0]):
            member = cls.fit_member(X[v], Y[v])
            out[v] = np.asarray(member(queries)).astype(np.uint8, copy=False)
        return out

    def expected_error(self, cls: FunctionClass, k: int) -> float | None:
        check(k >= 0, f"erm: k must be >= 0, got {k}")
        stated = getattr(cls, "erm_expected_error", None)
        return None if stated is None else stated(k)
