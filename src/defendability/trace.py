"""Trace access: the referee hands the defender what the attacker of the round knew.

A variant of the game proposed in the motivating post (THEORY.md §5.3): besides the
function and the input, the defender receives the attacker's *trace*: its code, its
random tape (from which its keys were drawn) and, on the backdoor side, the trigger it
was shown. Every attacker produces one without doing anything, because attackers are
deterministic given their random stream: the tape is the stream
``SeedSequence(seed, spawn_key=(round, 0))`` the referee made for the attacker, and
replaying ``setup`` (and ``backdoor``, given x*) from it recomputes the key, the
original function and the edit that planted the backdoor.

**Deviation, documented:** the issue describes a trace as "key, random seed, edit list".
Here the key and the edit list are not stored but recomputed by replay from the random
seed (the tape), which carries the same information and works for every attacker,
including those written later, without each one keeping a record. The clean side's trace
has no trigger (that model was produced by ``setup`` alone); the backdoor side's has
x*. A defender that uses only the tape (``key-holder``) sees the same kind of trace on
both sides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .attackers.base import Attacker
    from .classes.base import Function, FunctionClass
    from .spaces import Distribution

#: Index of the attacker's stream among a round's streams (``game._STREAMS``).
ATTACKER_STREAM = 0


@dataclass(frozen=True, eq=False)
class Trace:
    """The attacker's side of one round: its code, its tape and, on the backdoor side,
    the trigger ``x_star`` (shape ``point_shape``; ``None`` on the clean side)."""

    attacker: "Attacker"
    cls: "FunctionClass"
    eps: float
    seed: int
    round: int
    x_star: np.ndarray | None = field(default=None, repr=False)

    def tape(self) -> np.random.Generator:
        """A fresh copy of the attacker's random stream of this round."""
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(self.round, ATTACKER_STREAM)))

    def replay_setup(self) -> tuple["Distribution", "Function"]:
        """``(D, f)`` as the attacker chose them in this round (D as the referee uses it)."""
        return self._setup(self.tape())

    def replay_backdoor(self) -> "Function | None":
        """The backdoored function the attacker returned for ``x_star`` (backdoor side only)."""
        if self.x_star is None:
            raise ValueError("the clean side's trace has no trigger: nothing was backdoored")
        rng = self.tape()
        dist, f = self._setup(rng)
        return self.attacker.backdoor(self.cls, dist, f, self.x_star, self.eps, rng)

    def _setup(self, rng: np.random.Generator) -> tuple["Distribution", "Function"]:
        from .game import referee_distribution

        dist, f = self.attacker.setup(self.cls, self.eps, rng)
        return referee_distribution(dist), f
