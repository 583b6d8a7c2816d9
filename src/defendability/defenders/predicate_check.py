"""The defender that checks the expensive predicate of mode ``predicate`` (docs/variants.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..classes.base import Function, FunctionClass
from ..errors import UserError
from ..registry import Match, register
from ..spaces import Sampler
from .base import Defender, Detector

if TYPE_CHECKING:  # pragma: no cover
    from ..predicate import Predicate


class PredicateDetector(Detector):
    """Score 1 on the inputs that satisfy P, else 0 (T hashes per input scored)."""

    threshold = 0.5

    def __init__(self, predicate: "Predicate"):
        self.predicate = predicate

    def score(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.predicate(np.asarray(x)), dtype=float)


@register("defenders", "predicate-check")
class PredicateCheck(Defender):
    """Mode predicate: REJECT iff the input satisfies the round's predicate P.

    The trigger must satisfy P (the referee checks it); an ordinary input of D does with
    probability about 2^-z. So alpha is about 2^-z and beta is 0 whatever the attacker
    does, at a cost of T hash applications per scored input: the cost the post's
    "expensive to check" puts on the defender, which the game reports as
    ``predicate_hashes_per_decision``. It never looks at g. Scores are 0/1
    (``graded = False``). No parameters.
    """

    graded = False
    uses_predicate = True
    test_match = Match(cls="subsets:N=12,d=3", attacker="point-flip", eps=0.34, mode="predicate")

    def fit(self, cls: FunctionClass, g: Function, sampler: Sampler, eps: float, rng: np.random.Generator,
            predicate: "Predicate | None" = None) -> Detector:
        if predicate is None:
            raise UserError("predicate-check needs the round's predicate: play it in mode predicate")
        return PredicateDetector(predicate)

    def guarantee(self, cls: FunctionClass, eps: float) -> dict[str, float] | None:
        return None
