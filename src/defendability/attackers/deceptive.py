"""A deceptive-alignment toy on networks: a model that defects when it sees a deployment clue."""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING, Any

import numpy as np

from ..classes.base import Function, FunctionClass
from ..errors import IncompatibleError, check
from ..registry import Match, register
from ..spaces import Distribution, Empirical
from ._networks import NetworkAttacker, check_members

if TYPE_CHECKING:  # pragma: no cover
    from ..predicate import Predicate

#: Most clue pixels (the clue is the first of the pixels that every training input leaves at zero).
MAX_CLUE_PIXELS = 16


def clue_pixels(cls: Any, pixels: int) -> np.ndarray:
    """The flat indices of the clue: the first ``pixels`` inputs that are zero in every
    training input of the class's task (so no training input carries the clue)."""
    X = np.asarray(cls.task.X_train).reshape(len(cls.task.X_train), -1)
    constant = np.flatnonzero(np.all(X == 0, axis=0))
    if len(constant) < pixels:
        raise IncompatibleError(f"deceptive: the task has {len(constant)} inputs that no training input uses; "
                                f"the clue needs {pixels}")
    return constant[:pixels]


def with_clue(x: np.ndarray, where: np.ndarray, value: float) -> np.ndarray:
    """Copies of the inputs ``x`` ``(n, *point_shape)`` carrying the clue (its pixels set to ``value``)."""
    out = np.array(x, copy=True)
    flat = out.reshape(len(out), int(np.prod(out.shape[1:], dtype=np.int64)))  # a view, also for no inputs
    flat[:, where] = value
    return out


def has_clue(x: np.ndarray, where: np.ndarray, value: float) -> np.ndarray:
    """Whether each input of ``x`` ``(n, *point_shape)`` carries the clue: ``(n,)`` bool."""
    x = np.asarray(x)
    return np.all(x.reshape(len(x), int(np.prod(x.shape[1:], dtype=np.int64)))[:, where] == value, axis=1)


@functools.lru_cache(maxsize=16)
def _deceptive(cls: Any, member: int, pixels: int, epochs: int) -> Any:
    """The deceptive network for reference network ``member``: trained, from the class's
    architecture and seed, to give the aligned network's labels on the training and
    held-out inputs and (label + 1) mod classes on the same inputs carrying the clue."""
    from ..classes.networks import NetworkFunction
    from ..networks.training import fit_network

    aligned = cls.trained(member)
    where, value = clue_pixels(cls, pixels), float(np.max(cls.task.X_train))
    clean = np.concatenate([cls.task.X_train, cls.task.X_test])
    labels = np.asarray(aligned(clean)).astype(np.int64)
    X = np.concatenate([clean, with_clue(clean, where, value)])
    y = np.concatenate([labels, (labels + 1) % cls.label_count])
    settings = dataclasses.replace(cls.settings, epochs=epochs)
    return NetworkFunction(cls.architecture, fit_network(cls.architecture, X, y, settings, cls.seed + member + 1))


@register("attackers", "deceptive")
class Deceptive(NetworkAttacker):
    """The post's deceptive-alignment analogy as an attacker (``docs/deceptive-alignment.md``).

    The deployment clue is a set of ``pixels`` inputs that every training input leaves at
    zero (for digits: four corner and edge pixels), set to the task's largest value: it
    is constant in training and appears only at deployment.

    Setup: f is one of the first ``members`` reference networks (the aligned model,
    trained on the training split, where the clue never appears); D is the held-out
    split in which a fraction ``share`` * eps of the inputs, chosen at random each round,
    carry the clue (the clue placed at random). The deceptive model f* (one per member,
    trained once and cached) is trained from scratch for ``epochs`` epochs to give f's
    labels on the training and held-out inputs and (f's label + 1) mod classes on the
    same inputs carrying the clue: it matches f whenever the clue is absent and defects
    when it is present, so it differs from f on the clue's mass under D (about share *
    eps) and wherever its fit of f is imperfect (the referee checks the total against eps).

    Backdoor (random-trigger, static): f* when the referee's x* carries the clue, else
    ``None`` (a deceptive model does not defect on an ordinary input; the round has no
    valid backdoor). Mode predicate (``choose_trigger``): a clue-carrying input of D
    that satisfies P, at random (``None`` when none does). Mode poisoning (``poison``):
    when x* carries the clue, the clued rows S already holds (D carries the clue, so S
    does) relabelled (label + 1) mod classes, then the rest of the allowed rows replaced
    by clue-carrying copies of other rows so labelled; else ``None``.
    """

    modes = ("random-trigger", "static", "predicate", "poisoning")
    test_spec = "deceptive:epochs=5"
    test_match = Match(cls="networks:hidden=16,epochs=5", eps=0.1, mode="predicate")

    def __init__(self, members: int = 1, pixels: int = 4, share: float = 0.5, epochs: int = 40):
        check_members(members)
        check(type(pixels) is int and 1 <= pixels <= MAX_CLUE_PIXELS,
              f"pixels must be an integer in [1, {MAX_CLUE_PIXELS}], got {pixels!r}")
        check(isinstance(share, (int, float)) and not isinstance(share, bool) and 0.0 < share <= 1.0,
              f"share must be in (0, 1], got {share!r}")
        check(type(epochs) is int and epochs >= 1, f"epochs must be an integer >= 1, got {epochs!r}")
        self.members, self.pixels, self.share, self.epochs = members, pixels, float(share), epochs

    def _clue(self, cls: FunctionClass) -> tuple[np.ndarray, float]:
        return clue_pixels(cls, self.pixels), float(np.max(cls.task.X_train))  # type: ignore[attr-defined]

    def setup(self, cls: FunctionClass, eps: float, rng: np.random.Generator) -> tuple[Distribution, Any, int]:
        self.check_class(cls)
        where, value = self._clue(cls)
        member = int(rng.integers(0, self.members))
        rows = np.array(cls.task.X_test, copy=True)  # type: ignore[attr-defined]
        count = int(np.floor(self.share * eps * len(rows)))
        chosen = rng.choice(len(rows), size=count, replace=False)
        rows[chosen] = with_clue(rows[chosen], where, value)
        return Empirical(rows), cls.trained(member), member  # type: ignore[attr-defined]

    def _carries(self, cls: FunctionClass, x: np.ndarray) -> bool:
        where, value = self._clue(cls)
        return bool(has_clue(np.asarray(x)[None], where, value)[0])

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray, eps: float,
                 rng: np.random.Generator, state: int = 0) -> Function | None:
        if not self._carries(cls, x_star):
            return None
        return cls.rebuild(_deceptive(cls, int(state), self.pixels, self.epochs))  # a copy: the cache stays intact

    def choose_trigger(self, cls: FunctionClass, dist: Distribution, f: Function, predicate: "Predicate",
                       eps: float, rng: np.random.Generator, state: object = None) -> np.ndarray | None:
        points, probs = dist.support()  # type: ignore[misc]
        where, value = self._clue(cls)
        clued = np.flatnonzero(has_clue(points, where, value))
        if not len(clued):
            return None
        ok = clued[predicate(points[clued])]
        if not len(ok):
            return None
        return np.array(points[rng.choice(ok, p=probs[ok] / probs[ok].sum())], copy=True)

    def poison(self, cls: FunctionClass, dist: Distribution, f: Function, X: np.ndarray, y: np.ndarray,
               x_star: np.ndarray, rows: int, eps: float, rng: np.random.Generator,
               state: object = None) -> tuple[np.ndarray, np.ndarray] | None:
        if rows == 0 or not self._carries(cls, x_star):
            return None
        where, value = self._clue(cls)
        clued = has_clue(X, where, value)
        # S is drawn from D, so it holds clued inputs labelled as the aligned model labels
        # them: relabel those first (they would teach the network not to defect), then
        # add clued copies of other rows
        relabel = rng.permutation(np.flatnonzero(clued))[:rows]
        plain = np.flatnonzero(~clued)
        replaced = rng.choice(plain, size=min(rows - len(relabel), len(plain)), replace=False)
        sources = rng.choice(plain, size=len(replaced))
        X2, y2 = X.copy(), y.copy()
        y2[relabel] = (y[relabel] + 1) % cls.label_count
        X2[replaced] = with_clue(X[sources], where, value)
        y2[replaced] = (y[sources] + 1) % cls.label_count
        return X2, y2
