"""The accept-everything baseline."""

from __future__ import annotations

import numpy as np

from ..classes.base import Function, FunctionClass
from ..registry import register
from ..spaces import Sampler
from .base import Defender, Detector


class AcceptDetector(Detector):
    """Scores every input 0: never above the threshold 0.5, so never REJECT."""

    threshold = 0.5

    def score(self, x: np.ndarray) -> np.ndarray:
        return np.zeros(len(x), dtype=float)


@register("defenders", "accept")
class Accept(Defender):
    """Baseline: always ACCEPT (wins only the rounds without a valid backdoor).

    Scores are 0 for every input (``graded = False``: AUROC is meaningless). alpha = 0,
    beta = 1 on every valid round. Cost: no samples, no evaluations of g. No parameters.
    """

    graded = False

    def fit(self, cls: FunctionClass, g: Function, sampler: Sampler, eps: float,
            rng: np.random.Generator) -> Detector:
        return AcceptDetector()

    def guarantee(self, cls: FunctionClass, eps: float) -> dict[str, float] | None:
        return {"alpha": 0.0, "beta": 1.0}
