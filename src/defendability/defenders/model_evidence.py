"""A detector whose verdict is a test of the model itself (THEORY.md §6, the static mode).

Static distinguishers (:mod:`defendability.static`) look at the function g, not at the
input: they return one :class:`~defendability.static.Evidence` per model. As a detector
in the game that evidence gives every input the same score and the same decision, so
the defender's verdict on g is all the round measures.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import check
from ..static import Evidence
from .base import Detector


def check_alpha_level(alpha_level: object, who: str) -> float:
    """``alpha_level`` as a float in (0, 1) (``ParameterError``, one line, otherwise)."""
    check(isinstance(alpha_level, (int, float)) and not isinstance(alpha_level, bool)
          and math.isfinite(alpha_level) and 0.0 < alpha_level < 1.0,
          f"{who}: alpha_level must be a number in (0, 1), got {alpha_level!r}")
    return float(alpha_level)


class EvidenceDetector(Detector):
    """The same score for every input: 1 - p (graded: higher = more suspicious).

    REJECT iff p <= ``alpha_level``: under the test's null law P(p <= a) <= a, so a clean
    model is rejected with probability at most ``alpha_level`` (the false-positive rate
    alpha of the game, when the null law holds for the clean side). ``score(x)`` for ``x``
    ``(Q, *point_shape)`` returns ``(Q,)`` floats; the inputs are not looked at.
    """

    def __init__(self, evidence: Evidence, alpha_level: float):
        self.evidence, self.alpha_level = evidence, float(alpha_level)
        # REJECT iff score > threshold would read p < alpha; ``decide`` uses p <= alpha
        # (a rank p-value sits exactly on multiples of 1/(r + 1))
        self.threshold = 1.0 - self.alpha_level

    @property
    def rejects(self) -> bool:
        """The verdict on the model: its p-value is at most ``alpha_level``."""
        return self.evidence.p_value <= self.alpha_level

    def score(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), 1.0 - self.evidence.p_value, dtype=np.float64)

    def decide(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), self.rejects, dtype=bool)

    def score_and_decide(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.score(x), self.decide(x)


__all__ = ["EvidenceDetector", "check_alpha_level"]
