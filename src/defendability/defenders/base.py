"""Defenders and the detectors they fit.

``Defender.fit(cls, g, sampler, eps, rng)`` looks at one function g (black-box calls,
or its representation for white-box defenders) with sample access to D, and returns a
:class:`Detector` that scores any batch of inputs: higher = more suspicious, and
``decide`` is True for REJECT. The same detector serves one round of the game and a
deployed monitor scoring a stream of inputs. Constructors only store validated
parameters; all learning happens in ``fit`` (scikit-learn's estimator contract).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import numpy as np

from ..classes.base import Function, FunctionClass
from ..registry import Component
from ..spaces import Sampler

if TYPE_CHECKING:  # pragma: no cover
    from ..attackers.base import Attacker


class Detector(ABC):
    """A fitted detector for one function. ``threshold``: REJECT iff score > threshold."""

    threshold: float = 0.5

    @abstractmethod
    def score(self, x: np.ndarray) -> np.ndarray:
        """Suspicion scores, shape ``(len(x),)``, float; higher = more suspicious."""

    def decide(self, x: np.ndarray) -> np.ndarray:
        """REJECT decisions, shape ``(len(x),)``, bool (True = flag as a trigger)."""
        return self.score(x) > self.threshold

    def score_and_decide(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores and decisions (the referee's entry point): from one pass of ``score``
        when ``decide`` is the default threshold rule, else ``score`` then the
        subclass's own ``decide``, so that overriding either hook alone is enough."""
        s = self.score(x)
        if type(self).decide is Detector.decide:  # one class lookup: the default path stays one pass
            return s, s > self.threshold
        return s, self.decide(x)


class Defender(Component, ABC):
    """A defender strategy, fixed before the attacker moves."""

    name: str = "defender"
    #: True when scores are graded (AUROC is meaningful), False for 0/1 scores.
    graded: bool = True
    #: True for defenders that need trace access: ``fit`` then also receives
    #: ``trace=`` (a :class:`defendability.trace.Trace`), and the game requires it on.
    uses_trace: bool = False
    #: True for defenders that check the expensive predicate of mode predicate: ``fit``
    #: then also receives ``predicate=`` (its own counted copy of the round's
    #: :class:`~defendability.predicate.Predicate`), and the game requires that mode.
    uses_predicate: bool = False

    @abstractmethod
    def fit(self, cls: FunctionClass, g: Function, sampler: Sampler, eps: float,
            rng: np.random.Generator) -> Detector:
        """Fit a detector for the given function ``g`` (a member of ``cls``)."""

    def check_class(self, cls: FunctionClass) -> None:
        """Raise :class:`~defendability.errors.IncompatibleError` (one line) if this
        defender cannot play on ``cls``; called by the referee before any round. The
        default accepts every class."""

    def resolved(self, cls: FunctionClass) -> "Defender":
        """This defender with every choice it leaves to the class made for ``cls`` (the
        ``vote`` family's learner), so that its ``repr`` states what plays; the referee
        calls it once per match. The default returns ``self``: nothing to choose."""
        return self

    def check_attacker(self, attacker: "Attacker") -> None:
        """Raise :class:`~defendability.errors.IncompatibleError` (one line) if this
        defender cannot play against ``attacker`` (e.g. it needs a hook the attacker
        lacks); called by the referee before any round. The default accepts every attacker."""

    def guarantee(self, cls: FunctionClass, eps: float) -> dict[str, float] | None:
        """Upper bounds ``{"alpha": ..., "beta": ...}`` the theory gives, if any."""
        return None
