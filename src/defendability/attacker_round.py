"""The attacker's side of one round, and the meter that counts what the attacker spends.

:class:`AttackerRound` runs the attacker's calls of one round in the order the referee
asks for them (``setup``, then, by mode, ``backdoor``, ``plant`` with ``activate``,
``choose_trigger`` then ``backdoor``, or ``poison``). The same class runs in the
referee's process and, with ``isolate=True``, in the attacker's own process
(:mod:`.isolation` forwards each call by name), so the protocol is written once.

The attacker gets its own copy of the class for the round and copies of the referee's
inputs; it keeps its own D and f (the later calls receive the objects it returned from
``setup``; the referee checks and uses copies of its own). Each later call receives
them behind metered views, so that a cap on the attacker's resources (the rules'
``attacker_*``, ``docs/variants.md``) can be enforced:

- f as a :class:`~defendability.classes.base.Counted` view (every point evaluated by a
  call or a counted method);
- D as a copy whose ``sample``, ``sample_batches`` and ``support`` count the points
  they produce (reading the whole support counts as sampling every point of it);
- seconds of wall clock over all its calls, ``setup`` included.

What the views count is what goes through them: an attacker that evaluates f from its
weights by hand, or samples D from its own parameters, is not counted (``seconds`` is),
and one set on forging its counts can reach the meter behind its views.
The caps are a rule for attackers that use the library's interfaces, which every library
attacker does; ``docs/variants.md`` says so.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np

from .attackers.base import Attacker, split_setup
from .classes.base import Counted, FunctionClass
from .copies import private_copy
from .spaces import Distribution


class Meter:
    """What the attacker spent in a round: ``evaluations`` of f, ``samples`` of D, ``seconds``."""

    def __init__(self) -> None:
        self.views: list[Counted] = []
        self.samples = 0
        self.seconds = 0.0

    @property
    def evaluations(self) -> int:
        return sum(view.evaluations for view in self.views)

    def usage(self) -> dict[str, float]:
        return {"evaluations": int(self.evaluations), "samples": int(self.samples), "seconds": float(self.seconds)}

    def function(self, f: Any) -> Any:
        """A counted view of the attacker's own f (anything else is passed as it is)."""
        if f is None or isinstance(f, Counted) or not callable(f):
            return f
        view = Counted(f)
        self.views.append(view)
        return view

    def distribution(self, dist: Any) -> Any:
        """A copy of the attacker's own D whose draws are counted (anything that is not a
        :class:`Distribution` is passed as it is)."""
        if not isinstance(dist, Distribution) or type(getattr(dist, "__dict__", None)) is not dict:
            return dist
        view = copy.copy(dist)
        sample, batches, support = view.sample, view.sample_batches, view.support

        def counted_sample(rng: np.random.Generator, size: int) -> np.ndarray:
            self.samples += int(size)
            return sample(rng, size)

        def counted_batches(rng: np.random.Generator, n: int, k: int) -> Any:
            self.samples += int(n) * int(k)
            return batches(rng, n, k)

        def counted_support() -> Any:
            found = support()
            if found is not None:
                self.samples += len(found[0])
            return found

        # instance attributes shadow the methods for this copy only (the referee keeps
        # its own D, rebuilt from the attacker's parameters before any of this runs)
        vars(view).update(sample=counted_sample, sample_batches=counted_batches, support=counted_support)
        return view


class AttackerRound:
    """The attacker's calls of one round (see the module docstring)."""

    def __init__(self, attacker: Attacker, cls: FunctionClass, eps: float, rng: np.random.Generator):
        # one copy of the class for the attacker's round: what it does to it in one call
        # it meets again in the next, and nowhere else
        self.attacker, self.cls, self.eps, self.rng = attacker, private_copy(cls), eps, rng
        self.dist: Any = None
        self.f: Any = None
        self.state: dict[str, Any] = {}  # the attacker's state for the round (split_setup)
        self.meter = Meter()

    def _timed(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            self.meter.seconds += time.perf_counter() - t0

    def _views(self) -> tuple[Any, Any]:
        return self.meter.distribution(self.dist), self.meter.function(self.f)

    def setup(self) -> tuple[Any, Any]:
        self.dist, self.f, self.state = split_setup(self._timed(self.attacker.setup, self.cls, self.eps, self.rng))
        return self.dist, self.f

    def backdoor(self, x_star: np.ndarray) -> Any:
        dist, f = self._views()
        return self._timed(self.attacker.backdoor, self.cls, dist, f, x_star, self.eps, self.rng, **self.state)

    def plant(self, x: np.ndarray) -> tuple[Any, Any]:
        """(f*, x'): the planted backdoor and the attacker's activation of x (``None``
        when it planted none)."""
        dist, f = self._views()
        f_star = self._timed(self.attacker.plant, self.cls, dist, f, self.eps, self.rng, **self.state)
        if f_star is None:
            return None, None
        return f_star, self._timed(self.attacker.activate, self.cls, f_star, x, self.rng, **self.state)

    def choose_trigger(self, predicate: Any) -> Any:
        """Mode predicate: the trigger the attacker chooses (it must satisfy
        ``predicate``; the referee checks it before asking for the backdoor), or ``None``."""
        dist, f = self._views()
        return self._timed(self.attacker.choose_trigger, self.cls, dist, f, predicate, self.eps, self.rng,
                           **self.state)

    def poison(self, X: np.ndarray, y: np.ndarray, x_star: np.ndarray, rows: int) -> Any:
        """Mode ``poisoning``: the attacker's training set (X', y') made from the
        referee's (X, y) (copies), seeing x*, with at most ``rows`` rows replaced."""
        dist, f = self._views()
        return self._timed(self.attacker.poison, self.cls, dist, f, X, y, x_star, rows, self.eps, self.rng,
                           **self.state)

    def usage(self) -> dict[str, float]:
        """What the attacker spent so far this round."""
        return self.meter.usage()

    def close(self) -> None:
        """Nothing to release in one process (an isolated round ends its process)."""
