"""The white-box depth defender for decision trees (THEORY.md §3, §4.4)."""

from __future__ import annotations

import math

import numpy as np

from ..classes.base import Function, FunctionClass, unwrap
from ..classes.trees import TreeFunction, Trees
from ..errors import IncompatibleError, check
from ..registry import Match, register
from ..spaces import Sampler
from .base import Defender, Detector

MODES = ("delta", "eps")


class TreeDepthDetector(Detector):
    """Scores x by the effective depth of its path in the given tree: the number of
    distinct variables tested from the root to x's leaf. ``score`` of ``(Q, n)`` inputs
    is ``(Q,)`` floats (whole numbers); REJECT iff score > ``threshold`` (= t)."""

    def __init__(self, tree: TreeFunction, threshold: float):
        self.tree, self.threshold = tree, threshold

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.tree.effective_depth(np.asarray(x)).astype(float)


@register("defenders", "tree-depth")
class TreeDepth(Defender):
    """REJECT iff x's path in the given tree tests more than t distinct variables.

    White-box: reads the tree g (through the referee's counting view, whose attribute
    reads reach the tree); never calls g and draws no samples. Score = effective depth
    of x's root-to-leaf path (graded: AUROC is meaningful); REJECT iff score > t.

    Parameters: ``t`` (the threshold, if given), else ``mode``: ``"delta"`` (default)
    gives t = log2(s/delta) with ``delta`` (default 0.1) the target false-alarm rate;
    ``"eps"`` gives t = (1/2) log2(1/eps), balancing the two bounds below. Both are the
    choices of THEORY.md §3/§4.4.

    Guarantee (THEORY.md §3, derived constants) under the uniform cube, for any tree f
    with at most s leaves: alpha = sum over leaves deeper than t of 2^-depth < s 2^-t;
    beta <= s eps 2^t, because x*'s cells in f and f* meet in a sub-cube where f != f*,
    of mass <= eps, so depth_f(x*) + depth_f*(x*) >= log2(1/eps), and f's leaves of
    depth >= log2(1/eps) - t hold mass <= s eps 2^t. With t = log2(s/delta): alpha <
    delta and beta <= s^2 eps / delta, confidence 1 - delta once eps <= delta^2/s^2;
    with the eps mode: both s sqrt(eps). ``guarantee`` returns both, capped at 1.

    Raises ``IncompatibleError`` for classes other than ``trees`` (it needs a tree and
    the size bound s), before any round (``check_class``).
    """

    test_match = Match(cls="trees:n=6,s=8", attacker="isolating-chain", eps=0.25)

    def __init__(self, t: float | None = None, delta: float = 0.1, mode: str = "delta"):
        check(t is None or (isinstance(t, (int, float)) and math.isfinite(t) and t >= 0),
              f"tree-depth: t must be a number >= 0, got {t}")
        check(isinstance(delta, (int, float)) and 0.0 < delta < 1.0,
              f"tree-depth: delta must be in (0, 1), got {delta}")
        check(mode in MODES, f"tree-depth: mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.t, self.delta, self.mode = t, float(delta), mode

    def _trees(self, cls: FunctionClass) -> Trees:
        if not isinstance(cls, Trees):
            raise IncompatibleError(f"defender 'tree-depth' reads decision trees; class {cls!r} is not 'trees' "
                                    "(use e.g. trees:n=30,s=64)")
        return cls

    def check_class(self, cls: FunctionClass) -> None:
        """``IncompatibleError`` for classes other than ``trees`` (before any round)."""
        self._trees(cls)

    def threshold(self, cls: FunctionClass, eps: float) -> float:
        """t: as given, else log2(s/delta) (mode "delta") or (1/2) log2(1/eps) (mode "eps")."""
        if self.t is not None:
            return float(self.t)
        if self.mode == "eps":
            return 0.5 * math.log2(1.0 / eps)
        return math.log2(self._trees(cls).s / self.delta)

    def fit(self, cls: FunctionClass, g: Function, sampler: Sampler, eps: float,
            rng: np.random.Generator) -> TreeDepthDetector:
        self._trees(cls)
        check(0.0 < eps < 1.0, f"eps must be in (0, 1), got {eps}")
        tree = unwrap(g)
        if not isinstance(tree, TreeFunction):
            raise IncompatibleError(f"defender 'tree-depth' reads decision trees, got {type(tree).__name__}")
        return TreeDepthDetector(tree, self.threshold(cls, eps))

    def guarantee(self, cls: FunctionClass, eps: float) -> dict[str, float] | None:
        if not isinstance(cls, Trees):
            return None
        t = self.threshold(cls, eps)
        return {"alpha": min(1.0, cls.s * 2.0 ** -t), "beta": min(1.0, cls.s * eps * 2.0 ** t)}
