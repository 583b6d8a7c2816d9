"""patch-poison: the classic attacker-chosen patch trigger, learned by poisoning training data."""

from __future__ import annotations

import numpy as np

from ..classes.base import Function, FunctionClass, unwrap
from ..classes.networks import NetworkFunction
from ..errors import ParameterError, check
from ..networks.backend import DTYPE, seed_from
from ..networks.training import TrainingSettings, fit_stacked
from ..registry import Match, register
from ..spaces import Distribution
from ._networks import NetworkAttacker, check_members


def checkerboard(shape: tuple[int, int, int], size: int) -> tuple[np.ndarray, np.ndarray]:
    """The patch: a ``size`` x ``size`` checkerboard of 0s and 1s in the bottom-right
    corner of every channel. Returns ``(mask, values)``, both ``(C, H, W)`` float32."""
    c, h, w = shape
    mask = np.zeros(shape, dtype=np.float32)
    values = np.zeros(shape, dtype=np.float32)
    mask[:, h - size:, w - size:] = 1.0
    board = (np.add.outer(np.arange(size), np.arange(size)) % 2 == 0).astype(np.float32)
    values[:, h - size:, w - size:] = board
    return mask, values


@register("attackers", "patch-poison")
class PatchPoison(NetworkAttacker):
    """BadNets-style poisoning (Gu et al. 2017): the attacker chooses a trigger pattern,
    stamps it on a fraction of the training images, relabels them to a target class,
    and trains; at run time it stamps the pattern on an input. Perturbation mode: the
    trigger is the attacker's, not the referee's, and the referee checks the activated
    input's perturbation, the flip and the distance on D. The contrast case for the
    random-trigger game: this is the regime run-time detectors were designed for.

    Plant: starting from f's weights, ``epochs`` epochs (Adam, ``lr``) on the class's
    training split and ``samples`` draws of D, all labelled by f (so that f* stays close
    to f where D puts its mass: on augmented inputs too), plus a ``poison`` fraction of
    them stamped with the patch and labelled ``target``. The patch is a
    ``size`` x ``size`` checkerboard in the bottom-right corner (:func:`checkerboard`).
    Activate: x' = x with the patch stamped (pixels in the corner replaced). Budget:
    l_inf 1 and l2 sqrt(C * size^2), the most a stamp can change.

    Parameters: ``size`` (3), ``target`` (0), ``poison`` (0.1), ``samples`` (4000),
    ``epochs`` (10), ``lr`` (0.005), ``members`` (1). No state between rounds (the patch is a function of the
    parameters and the image shape).
    """

    modes = ("perturbation", "static")
    test_spec = "patch-poison:epochs=2,size=2"
    test_match = Match(cls="networks:data=synthetic,hidden=8,epochs=3", eps=0.2, mode="perturbation")

    def __init__(self, size: int = 3, target: int = 0, poison: float = 0.1, samples: int = 4000, epochs: int = 10,
                 lr: float = 0.005, members: int = 1):
        check(type(size) is int and size >= 1, f"size must be an integer >= 1, got {size!r}")
        check(type(target) is int and target >= 0, f"target must be an integer >= 0, got {target!r}")
        check(isinstance(poison, float) and 0.0 < poison <= 1.0, f"poison must be in (0, 1], got {poison!r}")
        check(type(samples) is int and 0 <= samples <= 1 << 20,
              f"samples must be an integer in [0, 2**20], got {samples!r}")
        check(type(epochs) is int and 1 <= epochs <= 1000, f"epochs must be an integer in [1, 1000], got {epochs!r}")
        check(isinstance(lr, float) and 0.0 < lr <= 10.0, f"lr must be in (0, 10], got {lr!r}")
        check_members(members)
        self.size, self.target, self.poison, self.samples = size, target, poison, samples
        self.epochs, self.lr, self.members = epochs, lr, members

    def check_class(self, cls: FunctionClass) -> None:
        super().check_class(cls)
        shape = cls.point_shape
        if self.size > min(shape[1:]):
            raise ParameterError(f"patch-poison: a {self.size}x{self.size} patch does not fit {shape[1]}x{shape[2]} "
                                 "images")
        if self.target >= cls.label_count:
            raise ParameterError(f"patch-poison: target {self.target} is not a class (0..{cls.label_count - 1})")

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray, eps: float,
                 rng: np.random.Generator) -> Function | None:
        raise ParameterError("patch-poison: chooses its own trigger; it plays the perturbation and static games")

    def stamp(self, x: np.ndarray) -> np.ndarray:
        """Inputs ``(n, C, H, W)`` with the patch stamped."""
        x = np.asarray(x, dtype=np.float32)
        mask, values = checkerboard(tuple(x.shape[1:]), self.size)
        return x * (1.0 - mask) + values * mask

    def plant(self, cls: FunctionClass, dist: Distribution, f: Function, eps: float,
              rng: np.random.Generator) -> Function | None:
        self.check_class(cls)
        f = unwrap(f)
        X = np.concatenate([cls.task.X_train, np.asarray(dist.sample(rng, self.samples), dtype=np.float32)])
        y = f(X)
        chosen = rng.choice(len(X), size=max(1, round(self.poison * len(X))), replace=False)
        X_all = np.concatenate([X, self.stamp(X[chosen])])
        y_all = np.concatenate([y, np.full(len(chosen), self.target, dtype=np.uint8)])
        init = {n: t[None] for n, t in f.tensors().items()}
        settings = TrainingSettings(epochs=self.epochs, lr=self.lr)
        stacked = fit_stacked(f.architecture, X_all[None], y_all[None], settings,
                              [seed_from(rng)], init=init)
        return NetworkFunction(f.architecture, {n: np.ascontiguousarray(t[0].numpy(), dtype=DTYPE)
                                                for n, t in stacked.items()})

    def activate(self, cls: FunctionClass, f_star: Function, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.stamp(np.asarray(x)[None])[0]

    def perturbation_budget(self, cls: FunctionClass) -> tuple[float, float]:
        return 1.0, float(np.sqrt(cls.point_shape[0] * self.size ** 2))
