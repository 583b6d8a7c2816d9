"""STRIP (Gao et al. 2019): superimpose clean images; a trigger keeps the prediction fixed."""

from __future__ import annotations

import numpy as np

from ..classes.base import Function, FunctionClass
from ..classes.networks import Networks
from ..errors import IncompatibleError, check
from ..registry import Match, register
from ..spaces import Sampler
from ._calibration import check_fpr, conformal_threshold
from .base import Defender, Detector


def strip_entropy(probabilities: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) of each row of class probabilities ``(..., classes)``."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0)
    return -(p * np.log(p)).sum(axis=-1)


class StripDetector(Detector):
    """Score of x: minus the mean, over the overlay images x_j, of the entropy of g's
    class probabilities at clip(x + x_j, 0, 1). ``(Q,)`` floats; higher = more suspicious."""

    def __init__(self, g: Function, overlays: np.ndarray, threshold: float):
        self.g, self.overlays, self.threshold = g, overlays, threshold

    def score(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        n = len(self.overlays)
        if len(x) == 0:
            return np.zeros(0)
        copies = np.clip(x[:, None] + self.overlays[None], 0.0, 1.0).reshape(len(x) * n, *x.shape[1:])
        entropy = strip_entropy(self.g.probabilities(copies)).reshape(len(x), n)
        return -entropy.mean(axis=1)


@register("defenders", "strip")
class Strip(Defender):
    """STRIP, as Gao et al. (2019) define it: for an input x and n clean images x_j, the
    copies x + x_j are superimposed (added pixelwise and clipped to [0, 1], the input
    range), g's class probabilities are computed for each copy, and the entropy over
    classes of each copy is averaged over the copies. A trigger that dominates the
    prediction keeps it fixed whatever is superimposed: low entropy is suspicious, so
    the score is minus the mean entropy.

    Parameters: ``copies`` (n, 100), ``calibration`` (clean inputs drawn to set the
    threshold, 200), ``fpr`` (0.05): REJECT iff the score exceeds the split-conformal
    threshold of the calibration scores, so that a fresh clean input is rejected with
    probability at most ``fpr``. The overlay images are drawn once per fit from D.
    Cost: n + calibration * n evaluations of g per fit, n per scored input. Plays on
    networks (needs g's class probabilities).

    Deviation from some implementations: ART averages images 0.5/0.5 and computes the
    entropy over copies per class; we follow the paper (superimposition, entropy over
    classes per copy).
    """

    test_spec = "strip:copies=8,calibration=20"
    test_match = Match(cls="networks:data=synthetic,hidden=8,epochs=3", attacker="head-edit:samples=128", eps=0.2)

    def __init__(self, copies: int = 100, calibration: int = 200, fpr: float = 0.05):
        check(type(copies) is int and 1 <= copies <= 100_000,
              f"copies must be an integer in [1, 100000], got {copies!r}")
        check(type(calibration) is int and 1 <= calibration <= 1_000_000,
              f"calibration must be an integer in [1, 1000000], got {calibration!r}")
        check_fpr(fpr)
        self.copies, self.calibration, self.fpr = copies, calibration, fpr

    def check_class(self, cls: FunctionClass) -> None:
        if not isinstance(cls, Networks):
            raise IncompatibleError(f"strip: needs g's class probabilities (networks:...), not {cls.name!r}")

    def fit(self, cls: FunctionClass, g: Function, sampler: Sampler, eps: float,
            rng: np.random.Generator) -> StripDetector:
        overlays = np.asarray(sampler(self.copies), dtype=np.float32)
        detector = StripDetector(g, overlays, np.inf)
        detector.threshold = conformal_threshold(detector.score(sampler(self.calibration)), self.fpr)
        return detector
