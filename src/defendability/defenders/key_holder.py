"""The key-holder: detection with the attacker's trace (THEORY.md §4.4, §5.3, P13).

The control for every hardness result in the library: those results are about a
defender *without* the attacker's trapdoor. Given the trace (trace access, a game option
that is off by default), the check is one line: recompute the original function from the
attacker's random tape and compare it with the given function at the given input.
"""

from __future__ import annotations

import numpy as np

from ..classes.base import Function, FunctionClass
from ..errors import IncompatibleError
from ..registry import register
from ..spaces import Sampler
from ..trace import Trace
from .base import Defender, Detector


class KeyHolderDetector(Detector):
    """Score 1 where ``g`` disagrees with the attacker's original function ``f``, else 0."""

    threshold = 0.5

    def __init__(self, g: Function, original: Function):
        self.g = g
        self.original = original

    def score(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(self.g(x)) != np.asarray(self.original(x))).astype(float)


@register("defenders", "key-holder")
class KeyHolder(Defender):
    """Trace access: REJECT iff g(x) differs from the original function the attacker's
    random tape recomputes (``Trace.replay_setup``).

    On the clean side g is that original function, so it never REJECTs (alpha = 0); on
    the backdoor side g = f* and x = x*, where f* differs from f by the rules of the game
    (beta = 0). The check is the same on both sides and uses only the tape, not the
    trigger the backdoor side's trace also carries. Cost: one evaluation of g per
    decision, no samples; the replay costs one attacker ``setup``. Requires trace access (``--trace``; ``trace = true`` in a config).
    Not graded (0/1 scores). No parameters.
    """

    graded = False
    uses_trace = True

    def fit(self, cls: FunctionClass, g: Function, sampler: Sampler, eps: float,
            rng: np.random.Generator, trace: Trace | None = None) -> Detector:
        if trace is None:
            raise IncompatibleError("key-holder needs the attacker's trace: turn on trace access "
                                    "(--trace, or trace = true in a config)")
        _, original = trace.replay_setup()
        return KeyHolderDetector(g, original)

    def guarantee(self, cls: FunctionClass, eps: float) -> dict[str, float] | None:
        return {"alpha": 0.0, "beta": 0.0}
