"""Trace access: the referee hands the defender what the attacker of the round knew.

A variant of the game proposed in the motivating post (THEORY.md §5.3): besides the
function and the input, the defender receives the attacker's *trace*: its code, its
random tape (from which its keys were drawn) and, on the backdoor side, the trigger it
was shown. Every attacker produces one without doing anything, because attackers are
deterministic given their random stream: the tape is the state of the generator the
referee made for the attacker at the start of the round (the generator state, not the
match's seed, from which the referee's and the defender's streams would follow), and
replaying ``setup`` (and ``backdoor``, given x*) from it recomputes the key, the
original function and the edit that planted the backdoor.

**Deviation, documented:** the issue describes a trace as "key, random seed, edit list".
Here the key and the edit list are not stored but recomputed by replay from the random
seed (the tape), which carries the same information and works for every attacker,
including those written later, without each one keeping a record. The clean side's trace
has no trigger (that model was produced by ``setup`` alone); the backdoor side's has
x*. So with trace access detection is trivial by construction (THEORY.md §5.3: "a test
where the key-holder fails has found a bug"): even "REJECT iff the trace has a trigger"
wins every round. The library's ``key-holder`` uses only the tape, which is the same
kind of information on both sides, and checks the model against it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .attackers.base import Attacker
    from .classes.base import Function, FunctionClass
    from .spaces import Distribution

@dataclass(frozen=True, eq=False)
class Trace:
    """The attacker's side of one round: its code, its tape (``tape_state``: the state of
    its generator at the start of the round, as ``bit_generator.state`` gives it) and, on
    the backdoor side, the trigger ``x_star`` (shape ``point_shape``; ``None`` on the
    clean side)."""

    attacker: "Attacker"
    cls: "FunctionClass"
    eps: float
    tape_state: dict[str, Any] = field(repr=False)
    x_star: np.ndarray | None = field(default=None, repr=False)
    mode: str = "random-trigger"
    #: Mode predicate, backdoor side: the round's predicate (a fresh copy), which the
    #: attacker's ``choose_trigger`` was given.
    predicate: Any = field(default=None, repr=False)
    #: Mode poisoning: the training set (X, y) the function was learned from: S on the
    #: clean side, the attacker's S' on the backdoor side (the analogue of observing the
    #: training process, ``docs/variants.md``).
    training: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @classmethod
    def from_stream(cls, attacker: "Attacker", fclass: "FunctionClass", eps: float, rng: np.random.Generator,
                    x_star: np.ndarray | None = None, mode: str = "random-trigger") -> "Trace":
        """The trace of an attacker whose stream is ``rng``, not yet drawn from."""
        return cls(attacker, fclass, eps, copy.deepcopy(rng.bit_generator.state), x_star, mode)

    def tape(self) -> np.random.Generator:
        """A fresh copy of the attacker's random stream of this round."""
        bit_generator = getattr(np.random, self.tape_state["bit_generator"])()
        bit_generator.state = copy.deepcopy(self.tape_state)
        return np.random.Generator(bit_generator)

    def replay_setup(self) -> tuple["Distribution", "Function"]:
        """``(D, f)`` as the attacker chose them in this round (D as the referee uses it)."""
        from .spaces import referee_distribution

        dist, f, _ = self._setup(self.tape())
        return referee_distribution(dist), f

    def replay_backdoor(self) -> "Function | None":
        """The backdoored function the attacker returned (backdoor side only): for
        ``x_star``, or planted (perturbation mode, and static mode for an attacker that
        plants), in which case ``x_star`` is the natural input it was shown. The later
        call gets back what ``setup`` returned, its state included, as in the round."""
        if self.x_star is None:
            raise ValueError("the clean side's trace has no trigger: nothing was backdoored")
        if self.mode == "poisoning":
            raise ValueError("in mode poisoning f* is learned from the training set, which the trace carries "
                             "(Trace.training)")
        rng = self.tape()
        dist, f, state = self._setup(rng)
        if self.mode == "perturbation" or (self.mode == "static" and not self.attacker.triggered):
            return self.attacker.plant(self.cls, dist, f, self.eps, rng, **state)
        if self.mode == "predicate":  # the round's calls in order: the choice, then the backdoor
            self.attacker.choose_trigger(self.cls, dist, f, self.predicate.fresh(), self.eps, rng, **state)
        return self.attacker.backdoor(self.cls, dist, f, self.x_star, self.eps, rng, **state)

    def _setup(self, rng: np.random.Generator) -> tuple[Any, Any, dict[str, Any]]:
        from .attackers.base import split_setup

        return split_setup(self.attacker.setup(self.cls, self.eps, rng))
