"""The key-holder: detection with the attacker's trace (THEORY.md §4.4, §5.3, §6, P13).

The control for every hardness result in the library: those results are about a
defender *without* the attacker's trapdoor. Given the trace (trace access, a game option
that is off by default), the check is one line. Two checks: ``replay`` (every attacker)
recomputes the original function from the attacker's random tape and compares it with
the given function at the given input; ``trapdoor`` runs the construction's own test
with the keys the tape recomputes (``Attacker.trapdoor_test``: the signature verified
with the public key, the lattice tests on weights and inputs), which only the
constructions that define one support.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..attackers.base import Attacker
from ..classes.base import Function, FunctionClass
from ..errors import IncompatibleError, ParameterError, check
from ..registry import Match, register
from ..spaces import Sampler
from ..trace import Trace
from .base import Defender, Detector

#: The checks the key-holder runs (see :class:`KeyHolder`).
CHECKS = ("replay", "trapdoor")


class KeyHolderDetector(Detector):
    """Score 1 where ``g`` disagrees with the attacker's original function ``f``, else 0."""

    threshold = 0.5

    def __init__(self, g: Function, original: Function):
        self.g = g
        self.original = original

    def score(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(self.g(x)) != np.asarray(self.original(x))).astype(float)


class TrapdoorDetector(Detector):
    """Scores from the construction's trapdoor test: 0/1 per input, 1 = REJECT."""

    threshold = 0.5

    def __init__(self, test: Callable[[np.ndarray], np.ndarray]):
        self.test = test

    def score(self, x: np.ndarray) -> np.ndarray:
        scores = np.asarray(self.test(x), dtype=float)
        check(scores.shape == (len(x),), f"key-holder: the trapdoor test returned shape {scores.shape} "
                                         f"for {len(x)} inputs; expected ({len(x)},)")
        return scores


@register("defenders", "key-holder")
class KeyHolder(Defender):
    """Trace access: the attacker's keys, recomputed from its random tape, decide.

    ``check="replay"`` (default, every attacker): REJECT iff g(x) differs from the
    original function the tape recomputes (``Trace.replay_setup``). On the clean side g
    is that original function, so it never REJECTs (alpha = 0); on the backdoor side
    g = f* and x = x*, where f* differs from f by the rules of the game (beta = 0). The
    check is the same on both sides and uses only the tape, not the trigger the backdoor
    side's trace also carries. Cost: one evaluation of g per decision, no samples; the
    replay costs one attacker ``setup``.

    ``check="trapdoor"``: the construction's own test, ``trace.attacker.trapdoor_test(trace, g)``
    (``signature``: the tag verified with the public key; ``rff-clwe``: the lattice test
    on g's weights and on x). An attacker without one: ``IncompatibleError`` at fit (the
    referee does not show the defender the attacker before the first round). Cost: what
    the attacker's test costs (no evaluation of g for the two constructions), plus the
    replay of its ``setup`` and ``plant`` per fit.

    Requires trace access (``--trace``; ``trace = true`` in a config). Not graded (0/1
    scores).
    """

    test_match = Match(cls="subsets:N=12,d=3", attacker="point-flip", eps=0.1, trace=True)

    graded = False
    uses_trace = True

    def __init__(self, check: str = "replay"):
        # the parameter shadows the module's check() here, so the error is raised directly
        if check not in CHECKS:
            raise ParameterError(f"key-holder: check must be one of {', '.join(CHECKS)}, got {check!r}")
        self.check = check

    def check_attacker(self, attacker: Attacker) -> None:
        if self.check == "trapdoor" and type(attacker).trapdoor_test is Attacker.trapdoor_test:
            raise IncompatibleError(f"key-holder:check=trapdoor needs an attacker with a trapdoor test "
                                    f"(signature, rff-clwe); {attacker!r} has none: use check=replay")

    def fit(self, cls: FunctionClass, g: Function, sampler: Sampler, eps: float,
            rng: np.random.Generator, trace: Trace | None = None) -> Detector:
        if trace is None:
            raise IncompatibleError("key-holder needs the attacker's trace: turn on trace access "
                                    "(--trace, or trace = true in a config)")
        if self.check == "trapdoor":
            test = trace.attacker.trapdoor_test(trace, g)
            if test is None:
                raise IncompatibleError(f"key-holder: attacker {trace.attacker!r} has no trapdoor test; "
                                        "use check=replay")
            return TrapdoorDetector(test)
        _, original = trace.replay_setup()
        return KeyHolderDetector(g, original)

    def guarantee(self, cls: FunctionClass, eps: float) -> dict[str, float] | None:
        # both checks: alpha = beta = 0 (the trapdoor tests up to their documented
        # failure probabilities, e.g. a forged signature)
        return {"alpha": 0.0, "beta": 0.0}
