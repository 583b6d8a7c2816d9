"""Attackers: they choose (D, f), then, after seeing the referee's trigger x*, a backdoor f*.

The protocol departs from DESIGN.md's sketch on one point, on purpose: both hooks get
the function class ``cls``, since attackers need its shattered set, its members and its
distances, and ``setup`` gets ``eps`` (the budget sizes the distribution of L1 and L2).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..classes.base import Function, FunctionClass
from ..errors import IncompatibleError
from ..registry import Component
from ..spaces import Distribution

if TYPE_CHECKING:  # pragma: no cover
    from ..defenders.base import Defender
    from ..predicate import Predicate
    from ..trace import Trace


class Attacker(Component, ABC):
    """An attacker in the game of THEORY.md §1.

    ``setup`` is step 1 (choose D and f); ``backdoor`` is step 3 (seeing x*, return an
    ε-close f* that flips f at x*, or ``None``). The referee checks everything the
    attacker returns; an attacker never reports numbers the referee trusts.
    """

    name: str = "attacker"
    #: The game modes this attacker plays (``rules.MODES``). An attacker that backdoors a
    #: given trigger (``backdoor``) plays the random-trigger game, the static one and mode
    #: predicate (``choose_trigger`` has a default); one that plants a backdoor and
    #: activates inputs (``plant``, ``activate``, ``perturbation_budget``) plays
    #: perturbation and static; one that poisons a training set (``poison``) adds
    #: ``"poisoning"``.
    modes: tuple[str, ...] = ("random-trigger", "static", "predicate")

    #: Draws from D the default ``choose_trigger`` makes, as a multiple of 2^z, before it
    #: gives up (a P-mass of 2^-z is missed with probability about e^-64).
    trigger_draws: int = 64

    @property
    def triggered(self) -> bool:
        """Whether the attacker backdoors a trigger it is given (random-trigger style)."""
        return "random-trigger" in self.modes

    @abstractmethod
    def setup(self, cls: FunctionClass, eps: float, rng: np.random.Generator) -> tuple[Distribution, Function]:
        """Step 1: the distribution D and the original function f (a member of ``cls``).

        An attacker that keeps a secret for the round (a key it drew) returns it third,
        ``(D, f, state)``: the referee keeps ``state``, never shows it to the defender,
        and passes it back to this attacker's later calls of the round (``backdoor``,
        ``plant``, ``activate``) as the keyword ``state`` (:func:`split_setup`). No
        caches of secrets keyed by the function's identity."""

    @abstractmethod
    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray,
                 eps: float, rng: np.random.Generator) -> Function | None:
        """Step 3: a backdoored f* with f*(x*) != f(x*) and distance <= eps, or ``None``.

        ``x_star`` is one point, shape ``point_shape``.
        """

    def plant(self, cls: FunctionClass, dist: Distribution, f: Function, eps: float,
              rng: np.random.Generator) -> Function | None:
        """Perturbation mode (THEORY §6): a backdoored f* (a member within eps of f),
        planted before any input is seen, or ``None``."""
        raise IncompatibleError(f"attacker {self!r} does not plant backdoors (it plays {', '.join(self.modes)})")

    def activate(self, cls: FunctionClass, f_star: Function, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Perturbation mode: the input x' (shape ``point_shape``) that makes f* differ
        from f, made from the natural input ``x``; the referee checks it against
        :meth:`perturbation_budget`."""
        raise IncompatibleError(f"attacker {self!r} does not activate inputs (it plays {', '.join(self.modes)})")

    def perturbation_budget(self, cls: FunctionClass) -> tuple[float, float]:
        """The (l_inf, l2) norms of x' - x this attacker declares for perturbation mode."""
        raise IncompatibleError(f"attacker {self!r} declares no perturbation budget")

    def choose_trigger(self, cls: FunctionClass, dist: Distribution, f: Function, predicate: "Predicate",
                       eps: float, rng: np.random.Generator, state: object = None) -> np.ndarray | None:
        """Mode predicate (``docs/variants.md``): the trigger x* (shape ``point_shape``), a
        point of D's support with ``predicate(x*[None])[0]`` true, or ``None``. The
        referee then calls ``backdoor`` with it.

        The default is the random-trigger analogue: x ~ D conditioned on P, by drawing
        from D in batches until a point satisfies P (at most ``trigger_draws * 2^z``
        draws), so an attacker that does not use its choice plays the paper's game
        restricted to P. Attackers that use the choice override it (``chosen``)."""
        batch = max(16, int(round(1.0 / predicate.density)))
        for _ in range(self.trigger_draws):
            points = dist.sample(rng, batch)
            found = np.flatnonzero(predicate(points))
            if len(found):
                return np.array(points[found[0]], copy=True)
        return None

    def poison(self, cls: FunctionClass, dist: Distribution, f: Function, X: np.ndarray, y: np.ndarray,
               x_star: np.ndarray, rows: int, eps: float, rng: np.random.Generator,
               state: object = None) -> tuple[np.ndarray, np.ndarray] | None:
        """Mode poisoning (``docs/variants.md``): the training set (X', y') the referee
        learns f* from, made from the referee's sample S = (X, y) (``X``:
        ``(m, *point_shape)``, ``y``: ``(m,)`` int64, labelled by the f of ``setup``),
        seeing the trigger ``x_star``; at most ``rows`` rows may differ from S. ``None``:
        no poisoning (no backdoor)."""
        raise IncompatibleError(f"attacker {self!r} does not poison training sets (it plays {', '.join(self.modes)})")

    def check_class(self, cls: FunctionClass) -> None:
        """Raise :class:`~defendability.errors.IncompatibleError` (one line) if this
        attacker cannot play on ``cls``; the referee calls it before any round, so a
        sweep with an impossible cell fails before any work. The default accepts every
        class (attackers that need a hook find out in ``setup``)."""

    def against(self, defender: "Defender") -> "Attacker":
        """The attacker to play against ``defender``. Adaptive attackers return a copy
        bound to it (the game is "exists defender, for all attackers": an attacker may
        know the defender); the others return themselves."""
        return self

    def trapdoor_test(self, trace: Trace, g: Function) -> Callable[[np.ndarray], np.ndarray] | None:
        """The construction's own detection test, for a defender holding this round's
        ``trace`` (the ``key-holder`` with ``check=trapdoor``): a function from a batch of
        inputs ``(size, *point_shape)`` to 0/1 scores ``(size,)`` (1 = REJECT the pair
        (``g``, x)), built from the keys the attacker's tape recomputes. ``None`` (the
        default): this attacker has no construction-specific test."""
        return None

    def lower_bound(self, cls: FunctionClass, eps: float) -> float | None:
        """A lower bound on alpha + beta that holds for every defender, if one is known."""
        return None


def split_setup(answer: object) -> tuple[object, object, dict[str, object]]:
    """``setup``'s answer as ``(D, f, extra)``, ``extra`` being the keywords for the
    attacker's later calls of the round: ``{"state": state}`` when it returned a third
    element (not ``None``), else empty. Anything but a pair or a triple gives
    ``(None, None, {})``: the referee then voids the round (no distribution)."""
    if type(answer) is not tuple or len(answer) not in (2, 3):
        return None, None, {}
    if len(answer) == 3 and answer[2] is not None:
        return answer[0], answer[1], {"state": answer[2]}
    return answer[0], answer[1], {}
