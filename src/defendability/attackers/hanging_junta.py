"""The hanging-junta attacker: a chain of r tests leading to a complete random tree
(THEORY.md §3, §4.2)."""

from __future__ import annotations

import numpy as np

from ..classes.base import Function, FunctionClass
from ..classes.trees import Trees
from ..errors import ParameterError, check
from ..registry import Match, register
from ..spaces import Distribution
from . import _tree_edits as edits
from .base import Attacker


@register("attackers", "hanging-junta")
class HangingJunta(Attacker):
    """A chain x_1 = b_1, ..., x_r = b_r (random b), then a complete depth-h random tree
    on x_{r+1}..x_{r+h}; the backdoor flips x*'s junta leaf, if x* reaches the junta.

    Setup (class ``trees:n,s``, D uniform on {0,1}^n): node j < r tests x_{j+1}; the bit
    b_{j+1} goes on, the other ends at a leaf with a uniform random label; after the r
    tests hangs the complete tree on the next h variables with 2^h uniform random leaf
    labels (r + 2^h leaves in all). Backdoor: when x* satisfies the chain (probability
    2^-r), f* is f with x*'s junta leaf flipped, distance exactly 2^-(r+h) <= eps;
    otherwise ``None``: the only cheaper cells are the off-chain leaves, of mass 2^-j
    for j <= r, and the attacker does not spend its budget there (no valid backdoor
    under this design; the round is the defender's).

    Parameters ``r`` and ``h``. Defaults from eps and s: with D = ceil(log2(1/eps)) (the
    least D with 2^-D <= eps), h is the largest h <= D with (D - h) + 2^h <= s, and
    r = D - h (the shortest chain, hence the largest bound 2^-r). Given only h:
    r = max(0, D - h); given only r: h = max(0, D - r). Setup and backdoor raise
    ``ParameterError`` when 2^-(r+h) > eps (THEORY's eps >= 2^-(r+h): the flip would be
    over budget), when r + 2^h > s, or when r + h > n; and ``IncompatibleError`` on a
    class other than ``trees``. ``check_class`` (called by the referee before any round)
    raises the latter, and the size checks too when both r and h are given.

    Guarantee (THEORY.md §3, derived): conditioned on x* reaching the junta, the junta's
    labels are i.i.d. uniform and x*'s junta leaf is uniform, so (f*, x*) has the law of
    (f, x) conditioned on x reaching the junta; the clean side reaches it with
    probability 2^-r, so every defender has alpha + beta >= 2^-r. ``lower_bound``
    returns 2^-r. All randomness from the given rng; no state between rounds.
    """

    test_match = Match(cls="trees:n=6,s=8", eps=0.125)

    def __init__(self, r: int | None = None, h: int | None = None):
        check(r is None or (isinstance(r, int) and r >= 0), f"hanging-junta: r must be an integer >= 0, got {r}")
        check(h is None or (isinstance(h, int) and h >= 0), f"hanging-junta: h must be an integer >= 0, got {h}")
        self.r, self.h = r, h

    def shape(self, trees: Trees, eps: float) -> tuple[int, int]:
        """(r, h) for this class and eps: as given, else the defaults above."""
        total = edits.budget_depth(eps)
        if self.r is not None and self.h is not None:
            return self.r, self.h
        if self.h is not None:
            return max(0, total - self.h), self.h
        if self.r is not None:
            return self.r, max(0, total - self.r)
        h = 0
        while h + 1 <= total and h + 1 < 63 and (total - h - 1) + (1 << (h + 1)) <= trees.s:
            h += 1
        return total - h, h

    def _checked_shape(self, trees: Trees, eps: float) -> tuple[int, int]:
        r, h = self.shape(trees, eps)
        if r + h < edits.budget_depth(eps):
            raise ParameterError(f"hanging-junta: the flip costs 2^-(r+h) = 2^-{r + h}, more than eps={eps:g}; "
                                 f"need r + h >= {edits.budget_depth(eps)}")
        self._check_fits(trees, r, h)
        return r, h

    @staticmethod
    def _check_fits(trees: Trees, r: int, h: int) -> None:
        if h >= 63 or r + (1 << h) > trees.s:
            raise ParameterError(f"hanging-junta: r={r}, h={h} needs r + 2^h leaves, more than s={trees.s}")
        if r + h > trees.n:
            raise ParameterError(f"hanging-junta: r + h = {r + h} is more than the n={trees.n} variables "
                                 f"(eps below 2^-n has no tree cell)")

    def check_class(self, cls: FunctionClass) -> None:
        """``IncompatibleError`` on a class other than ``trees``; with both ``r`` and ``h``
        given, the size checks of ``setup`` too (``ParameterError``), as they do not
        depend on eps then."""
        trees = edits.tree_class(cls, self.name)
        if self.r is not None and self.h is not None:
            self._check_fits(trees, self.r, self.h)

    def setup(self, cls: FunctionClass, eps: float, rng: np.random.Generator) -> tuple[Distribution, Function]:
        trees = edits.tree_class(cls, self.name)
        r, h = self._checked_shape(trees, eps)
        bits = rng.integers(0, 2, size=r).tolist()
        off = rng.integers(0, 2, size=r).tolist()
        junta = edits.complete(list(range(r, r + h)), rng.integers(0, 2, size=1 << h, dtype=np.uint8))
        nodes = edits.graft(edits.chain(list(range(r)), bits, off, 0), edits.end_of_chain(r), junta)
        return trees.default_distribution(), edits.build(trees.n, nodes)

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray,
                 eps: float, rng: np.random.Generator) -> Function | None:
        trees = edits.tree_class(cls, self.name)
        tree = edits.tree_of(f, self.name)
        r, _ = self._checked_shape(trees, eps)
        leaf = int(tree.leaf_of(np.asarray(x_star)[None])[0])
        # the chain's off-chain leaves are its odd nodes below 2r; the junta's root is
        # node 2r and its other nodes follow (layout of edits.chain and edits.graft)
        if leaf < edits.end_of_chain(r):
            return None
        return edits.flip_leaf(tree, leaf)

    def lower_bound(self, cls: FunctionClass, eps: float) -> float | None:
        if not isinstance(cls, Trees):
            return None
        return 2.0 ** -self.shape(cls, eps)[0]
