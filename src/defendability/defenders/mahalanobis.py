"""Mahalanobis distance of a layer's activations (Lee et al. 2018; cupbearer's tied form)."""

from __future__ import annotations

import numpy as np

from ..classes.base import Function, FunctionClass
from ..classes.networks import Networks
from ..errors import IncompatibleError, check
from ..registry import Match, register
from ..spaces import Sampler
from ._calibration import check_fpr, conformal_threshold
from .base import Defender, Detector

MODES = ("per-class", "tied")


class MahalanobisDetector(Detector):
    """Score of x: the squared Mahalanobis distance of its activations at ``layer`` to
    the nearest class mean (``means`` ``(c, width)``; one row in the tied form), under
    the shared ``precision`` ``(width, width)``. ``(Q,)`` floats."""

    def __init__(self, g: Function, layer: str, means: np.ndarray, precision: np.ndarray, threshold: float):
        self.g, self.layer, self.means, self.precision, self.threshold = g, layer, means, precision, threshold

    def score(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros(0)
        a = self.g.activations(np.asarray(x), self.layer).astype(np.float64)
        diff = a[:, None, :] - self.means[None, :, :]  # (Q, c, width)
        return np.einsum("qcw,wv,qcv->qc", diff, self.precision, diff).min(axis=1)


@register("defenders", "mahalanobis")
class Mahalanobis(Defender):
    """Activation anomaly detection by Mahalanobis distance (Lee et al. 2018).

    fit: ``samples`` inputs from D; their activations at ``layer`` (``penultimate``: the
    last hidden layer; or any name of the architecture's ``layers``) and g's labels.
    ``per-class`` (Lee et al.): one mean per class g predicts, one covariance shared by
    the classes (pooled within-class, Ledoit–Wolf shrinkage: scikit-learn); the score is
    the squared distance to the nearest class mean. ``tied`` (one Gaussian, as cupbearer
    does): one mean and covariance for all inputs. REJECT iff the score exceeds the
    split-conformal threshold of ``calibration`` fresh clean scores at ``fpr``.

    Parameters: ``layer`` (``penultimate``), ``mode`` (``per-class``), ``samples`` (1000),
    ``calibration`` (200), ``fpr`` (0.05). Cost: samples + calibration evaluations of g
    per fit, one per scored input. Plays on networks.
    """

    test_spec = "mahalanobis:samples=60,calibration=20"
    test_match = Match(cls="networks:data=synthetic,hidden=8,epochs=3", attacker="head-edit:samples=128", eps=0.2)

    def __init__(self, layer: str = "penultimate", mode: str = "per-class", samples: int = 1000,
                 calibration: int = 200, fpr: float = 0.05):
        check(type(layer) is str and layer != "", f"layer must be a layer name, got {layer!r}")
        check(mode in MODES, f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        check(type(samples) is int and 2 <= samples <= 1_000_000,
              f"samples must be an integer in [2, 1000000], got {samples!r}")
        check(type(calibration) is int and 1 <= calibration <= 1_000_000,
              f"calibration must be an integer in [1, 1000000], got {calibration!r}")
        check_fpr(fpr)
        self.layer, self.mode, self.samples, self.calibration, self.fpr = layer, mode, samples, calibration, fpr

    def _layer(self, cls: FunctionClass) -> str:
        arch = cls.architecture
        layer = arch.penultimate if self.layer == "penultimate" else self.layer
        if layer not in arch.layers:
            raise IncompatibleError(f"mahalanobis: no layer {layer!r}; the layers are penultimate, "
                                    f"{', '.join(arch.layers)}")
        return layer

    def check_class(self, cls: FunctionClass) -> None:
        if not isinstance(cls, Networks):
            raise IncompatibleError(f"mahalanobis: reads a network's activations (networks:...), not {cls.name!r}")
        self._layer(cls)

    def fit(self, cls: FunctionClass, g: Function, sampler: Sampler, eps: float,
            rng: np.random.Generator) -> MahalanobisDetector:
        from sklearn.covariance import LedoitWolf

        self.check_class(cls)
        layer = self._layer(cls)
        X = sampler(self.samples)
        A = g.activations(X, layer).astype(np.float64)
        if self.mode == "tied":
            means = A.mean(axis=0, keepdims=True)
            centred = A - means
        else:
            labels = np.asarray(g(X))
            classes = np.unique(labels)
            means = np.stack([A[labels == c].mean(axis=0) for c in classes])
            centred = A - means[np.searchsorted(classes, labels)]
        precision = LedoitWolf(assume_centered=True).fit(centred).precision_
        detector = MahalanobisDetector(g, layer, means, precision, np.inf)
        detector.threshold = conformal_threshold(detector.score(sampler(self.calibration)), self.fpr)
        return detector
