"""What the network attackers share: the class check, setup, the flip target, features."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..classes.base import FunctionClass, unwrap
from ..classes.networks import Networks
from ..errors import IncompatibleError, check
from ..spaces import Distribution
from .base import Attacker

#: Most reference networks an attacker draws f from (each is trained once and cached).
MAX_MEMBERS = 64


def check_networks(cls: FunctionClass, who: str) -> None:
    """``IncompatibleError`` unless ``cls`` is the network class."""
    if not isinstance(cls, Networks):
        raise IncompatibleError(f"{who}: edits networks (networks:...), not {cls.name!r}")


def check_members(members: object) -> None:
    check(type(members) is int and 1 <= members <= MAX_MEMBERS,
          f"members must be an integer in [1, {MAX_MEMBERS}], got {members!r}")


def network_setup(cls: Any, members: int, rng: np.random.Generator) -> tuple[Distribution, Any]:
    """D = the class's default distribution, f = one of its first ``members`` reference
    networks (trained from seeds 0..members-1), uniformly."""
    return cls.default_distribution(), cls.trained(int(rng.integers(0, members)))


class NetworkAttacker(Attacker):
    """An attacker that edits networks: it plays ``networks`` only, and its setup is
    D = the class's default distribution, f = one of its first ``members`` reference
    networks (:func:`network_setup`). Subclasses store ``members`` (checked with
    :func:`check_members`)."""

    members: int = 1

    def check_class(self, cls: FunctionClass) -> None:
        check_networks(cls, self.name)

    def setup(self, cls: FunctionClass, eps: float, rng: np.random.Generator) -> tuple[Distribution, Any]:
        self.check_class(cls)
        return network_setup(cls, self.members, rng)


def flip_target(f: Any, x_star: np.ndarray) -> tuple[int, int, np.ndarray]:
    """``(source, target, logits)`` at x*: f's class, the runner-up class (the cheapest
    to reach), and f's logits ``(classes,)``."""
    logits = unwrap(f).logits(np.asarray(x_star)[None])[0]
    source = int(np.argmax(logits))
    rest = logits.copy()
    rest[source] = -np.inf
    return source, int(np.argmax(rest)), logits


def last_hidden_inputs(f: Any, x: np.ndarray) -> np.ndarray:
    """The inputs of the last hidden layer at ``x``: the previous hidden layer's output,
    else the last convolution's flattened map, else the flattened image. ``(n, fan_in)``."""
    f = unwrap(f)
    arch = f.architecture
    if len(arch.hidden) > 1:
        return f.activations(x, f"hidden.{len(arch.hidden) - 2}")
    if arch.channels:
        return f.activations(x, f"conv.{len(arch.channels) - 1}")
    return np.asarray(x, dtype=np.float32).reshape(len(x), -1)


def samples_without(dist: Distribution, x_star: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` draws from D with every copy of x* itself dropped (the attacker knows
    x*: on a finite D, x* is among the draws it keeps close to f): ``(<= size, ...)``."""
    sample = np.asarray(dist.sample(rng, size))
    same = np.all(sample.reshape(len(sample), -1) == np.asarray(x_star).reshape(1, -1), axis=1)
    return sample[~same]


def ridge_solve(C: np.ndarray, ridge: float, rhs: np.ndarray) -> np.ndarray:
    """(C + ridge * (tr C / width) * I)^{-1} rhs: a second-moment or covariance matrix
    ``(width, width)`` made well-conditioned in proportion to its own mean variance."""
    C = C + ridge * max(np.trace(C) / len(C), 1e-12) * np.eye(len(C))
    return np.linalg.solve(C, rhs)
