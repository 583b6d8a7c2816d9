"""The closure algorithm: predict with the smallest member consistent with the positives."""

from __future__ import annotations

import numpy as np

from ..classes.base import FunctionClass
from ..errors import IncompatibleError, check
from ..registry import Match, register
from .base import Learner, check_batch, pac_sample_size


@register("learners", "closure")
class Closure(Learner):
    """Closure algorithm for intersection-closed classes: e(k) <= d/(k+1).

    Each voter predicts with the smallest member of the class containing its positive
    examples (the intersection of all such members), so it answers 1 only where the
    positives force it. The work is the class's ``closure_predict`` hook, batched over
    voters: ``X`` ``(V, k, *point_shape)``, ``Y`` ``(V, k)`` uint8, ``queries``
    ``(Q, *point_shape)`` give ``(V, Q)`` uint8. Classes that are not intersection-closed
    (no hook) raise ``IncompatibleError``.

    Guarantee (derived, as THEORY.md §2.1 and §4.3 state it): expected error after k
    i.i.d. examples e(k) <= d/(k+1), d the VC dimension. Leave-one-out on k+1 points:
    the closure of the positives is spanned by at most d of them (a minimal spanning
    set of an intersection-closed class is shattered), and a left-out point outside
    that spanning set is predicted correctly. The closure algorithm and its analysis
    are Auer and Ortner 2007 ("A new PAC bound for intersection-closed concept
    classes"). The PAC sample size m(eta) = ceil(d/eta) - 1 (derived) is the least k
    with d/(k+1) <= eta.
    """

    set_only = True  # depends on the set of distinct labelled examples, not on repeats
    test_match = Match(cls="subsets:N=12,d=3")

    def check_class(self, cls: FunctionClass) -> None:
        """``IncompatibleError`` for a class that is not intersection-closed (no
        ``closure_predict`` hook)."""
        if not cls.has_closure():
            raise IncompatibleError(f"class {cls.name!r} is not intersection-closed: the closure learner does not "
                                    "apply")

    def predict(self, cls: FunctionClass, X: np.ndarray, Y: np.ndarray, queries: np.ndarray) -> np.ndarray:
        X, Y, queries = np.asarray(X), np.asarray(Y), np.asarray(queries)
        check_batch(cls, X, Y, queries)
        out = np.asarray(cls.closure_predict(X, Y, queries))
        if out.shape != (X.shape[0], queries.shape[0]):
            raise ValueError(f"class {cls.name!r}: closure_predict returned shape {out.shape}, "
                             f"expected (V, Q) = {(X.shape[0], queries.shape[0])}")
        return out.astype(np.uint8, copy=False)

    def expected_error(self, cls: FunctionClass, k: int) -> float:
        check(k >= 0, f"closure: k must be >= 0, got {k}")
        return cls.vc_dimension / (k + 1)

    def sample_size(self, cls: FunctionClass, eta: float) -> int:
        check(0 < eta < 1, f"closure: eta must be in (0, 1), got {eta}")
        return pac_sample_size(cls.vc_dimension, eta)
