"""Students: networks distilled from g, the learner of ``vote`` on networks (THEORY.md §9)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

from ..batches import Batches
from ..classes.base import FunctionClass
from ..classes.networks import Networks
from ..errors import IncompatibleError, check
from ..networks.architecture import Architecture
from ..networks.training import TrainingSettings, fit_stacked, stacked_labels
from ..registry import Match, register
from .base import Learner, check_batch

ARCHS = ("same", "mlp", "cnn")


@register("learners", "students")
class Students(Learner):
    """Each voter is a network trained on its batch, labelled by g: distillation, with the
    voters of an ensemble trained together (stacked weights, :mod:`defendability.networks.
    training`), so that 16 students cost about as much as a few.

    Parameters: ``arch`` (``same``: the class's architecture; or ``mlp``, ``cnn``),
    ``hidden`` (units per hidden layer; 0: the class's), ``epochs`` (10), ``lr``
    (0.005), ``batch`` (64), ``voters`` and ``k`` (the ensemble ``vote`` uses when it is
    given no sizes: 16 students of 3,000 examples each; THEORY.md §9: the theory's
    k = floor(1/(4 eps)) is far too small to train a network, so these are ours).

    ``fit_batches`` trains once and returns the predictor; ``predict`` trains and
    predicts in one call. A student's seed is a hash of its batch's content, so the
    same batches give the same students, and a student's training depends on its own
    batch only (deterministic; no state between calls).
    Guarantee: none (``expected_error`` is ``None``).
    """

    test_spec = "students:epochs=2,voters=3,k=64"
    test_match = Match(cls="networks:data=synthetic,hidden=8,epochs=3")

    def __init__(self, arch: str = "same", hidden: int = 0, epochs: int = 10, lr: float = 0.005, batch: int = 64,
                 voters: int = 16, k: int = 3000):
        check(arch in ARCHS, f"students: arch must be one of {', '.join(ARCHS)}, got {arch!r}")
        check(type(hidden) is int and 0 <= hidden <= 4096,
              f"students: hidden must be an integer in [0, 4096], got {hidden!r}")
        check(type(voters) is int and 1 <= voters <= 4096,
              f"students: voters must be an integer in [1, 4096], got {voters!r}")
        check(type(k) is int and 1 <= k <= 1 << 20, f"students: k must be an integer in [1, 2**20], got {k!r}")
        TrainingSettings(epochs=epochs, batch=batch, lr=lr)  # validates them
        self.arch, self.hidden, self.epochs, self.lr, self.batch = arch, hidden, epochs, lr, batch
        self.voters, self.k = voters, k

    def check_class(self, cls: FunctionClass) -> None:
        if not isinstance(cls, Networks):
            raise IncompatibleError(f"students learner: trains networks on images (networks:...), not {cls.name!r}")

    def ensemble_size(self, cls: FunctionClass, eps: float) -> tuple[int, int]:
        return self.voters, self.k

    def architecture(self, cls: FunctionClass) -> Architecture:
        """The students' architecture: the class's, with ``arch`` and ``hidden`` applied."""
        own = cls.architecture
        kind = own.kind if self.arch == "same" else self.arch
        hidden = own.hidden if self.hidden == 0 else (self.hidden,) * len(own.hidden)
        channels = own.channels if kind == own.kind else ((8, 16) if kind == "cnn" else ())
        return Architecture(kind, own.input_shape, own.classes, hidden, channels)

    def fit_batches(self, cls: FunctionClass, batches: Batches,
                    labels: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        idx = batches.indices()
        return self._fit(cls, batches.points[idx], labels[idx])

    def _fit(self, cls: FunctionClass, X: np.ndarray, Y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        self.check_class(cls)
        arch = self.architecture(cls)
        X = np.ascontiguousarray(X, dtype=np.float32)
        Y = np.asarray(Y)
        if X.shape[1] == 0:  # no examples: every student predicts class 0
            return lambda q: np.zeros((X.shape[0], len(q)), dtype=np.uint8)
        # a student's seed is a function of its own batch: equal batches give equal
        # students, and no student depends on another's batch
        seeds = [int.from_bytes(hashlib.blake2b(X[v].tobytes() + Y[v].astype(np.uint8).tobytes(),
                                                digest_size=8).digest(), "little") >> 1 for v in range(len(X))]
        settings = TrainingSettings(epochs=self.epochs, batch=self.batch, lr=self.lr)
        stacked = fit_stacked(arch, X, Y, settings, seeds)
        return lambda q: stacked_labels(arch, stacked, np.asarray(q))

    def predict(self, cls: FunctionClass, X: np.ndarray, Y: np.ndarray, queries: np.ndarray) -> np.ndarray:
        X, Y, queries = np.asarray(X), np.asarray(Y), np.asarray(queries)
        check_batch(cls, X, Y, queries)
        return self._fit(cls, X, Y)(queries)
