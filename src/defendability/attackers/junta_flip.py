"""The junta-flip attacker: a complete random tree with one leaf flipped (THEORY.md §3, §4.2)."""

from __future__ import annotations

import numpy as np

from ..classes.base import Function, FunctionClass
from ..classes.trees import Trees
from ..errors import ParameterError, check
from ..registry import Match, register
from ..spaces import Distribution
from . import _tree_edits as edits
from .base import Attacker


@register("attackers", "junta-flip")
class JuntaFlip(Attacker):
    """Complete depth-h tree on x_1..x_h with random leaves; the backdoor flips x*'s leaf.

    Setup (class ``trees:n,s``, D uniform on {0,1}^n): f is the complete tree testing
    variable j at depth j (j < h), its 2^h leaf labels uniform and independent.
    Backdoor: f* is f with the label of x*'s leaf flipped: f and f* differ exactly on
    that leaf's cell, distance exactly 2^-h. Returned when 2^-h <= eps, else ``None``
    (the flip would be over budget: possible only with an explicit ``h``).

    Parameter ``h`` (default: the least h with 2^-h <= eps, i.e. ceil(log2(1/eps))).
    Setup raises ``ParameterError`` when 2^h > s (the tree would not be a member) or
    h > n, and ``IncompatibleError`` on a class other than ``trees``; ``check_class``
    (called by the referee before any round) raises the latter, and the former too when
    ``h`` is given.

    Guarantee (THEORY.md §3, derived): the leaf labels are i.i.d. uniform and x* is
    uniform and independent of them, so flipping x*'s leaf gives a pair (f*, x*) with
    exactly the law of (f, x): alpha + beta = 1 for every defender. ``lower_bound``
    returns 1.0 when 2^-h <= eps, else ``None``. All randomness from the given rng;
    no state between rounds.
    """

    test_match = Match(cls="trees:n=6,s=8", eps=0.25)

    def __init__(self, h: int | None = None):
        check(h is None or (isinstance(h, int) and h >= 1), f"junta-flip: h must be an integer >= 1, got {h}")
        self.h = h

    def depth(self, eps: float) -> int:
        """h: as given, else the least h with 2^-h <= eps."""
        return self.h if self.h is not None else max(1, edits.budget_depth(eps))

    def check_class(self, cls: FunctionClass) -> None:
        """``IncompatibleError`` on a class other than ``trees``; with ``h`` given, the
        size checks of ``setup`` too (``ParameterError``), as they do not depend on eps."""
        trees = edits.tree_class(cls, self.name)
        if self.h is not None:
            self._check_fits(trees, self.h)

    @staticmethod
    def _check_fits(trees: Trees, h: int) -> None:
        if h > trees.n:
            raise ParameterError(f"junta-flip: h={h} is more than the n={trees.n} variables")
        if h >= 63 or (1 << h) > trees.s:
            raise ParameterError(f"junta-flip: a complete depth-{h} tree has 2^{h} leaves, more than s={trees.s} "
                                 f"(use eps >= 2^-{max(0, trees.s.bit_length() - 1)} or a larger s)")

    def setup(self, cls: FunctionClass, eps: float, rng: np.random.Generator) -> tuple[Distribution, Function]:
        trees = edits.tree_class(cls, self.name)
        h = self.depth(eps)
        self._check_fits(trees, h)
        labels = rng.integers(0, 2, size=1 << h, dtype=np.uint8)
        return trees.default_distribution(), edits.build(trees.n, edits.complete(list(range(h)), labels))

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray,
                 eps: float, rng: np.random.Generator) -> Function | None:
        edits.tree_class(cls, self.name)
        tree = edits.tree_of(f, self.name)
        if edits.budget_depth(eps) > self.depth(eps):  # 2^-h > eps: over budget
            return None
        leaf = int(tree.leaf_of(np.asarray(x_star)[None])[0])
        return edits.flip_leaf(tree, leaf)

    def lower_bound(self, cls: FunctionClass, eps: float) -> float | None:
        return 1.0 if edits.budget_depth(eps) <= self.depth(eps) else None
