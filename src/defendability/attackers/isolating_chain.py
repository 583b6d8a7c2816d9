"""The isolating-chain attacker: isolate x*'s cell with a chain of fresh tests (THEORY.md §3, §4.2)."""

from __future__ import annotations

import numpy as np

from ..classes.base import Function, FunctionClass
from ..classes.trees import Trees, random_tree
from ..errors import ParameterError, check
from ..registry import Match, register
from ..spaces import Distribution
from . import _tree_edits as edits
from .base import Attacker


@register("attackers", "isolating-chain")
class IsolatingChain(Attacker):
    """Replace x*'s leaf by a chain on fresh variables that ends in the flipped label.

    Setup (class ``trees:n,s``, D uniform on {0,1}^n): f = a random tree
    (:func:`classes.trees.random_tree`) with ``leaves`` leaves, by default s - M (at
    least 1) where M = ceil(log2(1/eps)), so that a chain always fits.
    Backdoor (works on any tree f): let l be the effective depth of x*'s leaf (distinct
    variables on its path) and m = max(0, M - l). m = 0: flip the leaf (distance
    2^-l <= eps). Otherwise the leaf becomes a chain testing m fresh variables (not on
    x*'s path, drawn at random from the round's rng): a bit equal to x*'s goes on, the
    other ends at a leaf with the old label; the end of the chain has the flipped
    label. f and f* then differ exactly on the cell of x*'s new leaf, of mass
    2^-(l+m) = 2^-M <= eps, and f* has m more leaves than f. ``None`` when f has no room
    (leaves + m > s) or fewer than m fresh variables remain (n < M: no cell of mass
    <= eps exists).

    Parameter ``leaves`` (the size of f; default s - M, at least 1); setup raises
    ``ParameterError`` if it exceeds s, and ``IncompatibleError`` on a class other than
    ``trees``; so does ``check_class``, before any round. No bound on alpha + beta
    (``lower_bound`` is ``None``): it is the attack the depth defender is built against
    (THEORY.md §8 P7), placing x* at effective depth max(l, M) in f*. All randomness
    from the given rng; no state between rounds.
    """

    test_match = Match(cls="trees:n=6,s=8", eps=0.25)

    def __init__(self, leaves: int | None = None):
        check(leaves is None or (isinstance(leaves, int) and leaves >= 1),
              f"isolating-chain: leaves must be an integer >= 1, got {leaves}")
        self.leaves = leaves

    def check_class(self, cls: FunctionClass) -> None:
        """``IncompatibleError`` on a class other than ``trees``; ``ParameterError`` when
        the given ``leaves`` exceeds its s (the checks of ``setup``)."""
        trees = edits.tree_class(cls, self.name)
        if self.leaves is not None:
            self._check_fits(trees, self.leaves)

    @staticmethod
    def _check_fits(trees: Trees, leaves: int) -> None:
        if leaves > trees.s:
            raise ParameterError(f"isolating-chain: leaves={leaves} is more than the class's s={trees.s}")

    def setup(self, cls: FunctionClass, eps: float, rng: np.random.Generator) -> tuple[Distribution, Function]:
        trees = edits.tree_class(cls, self.name)
        leaves = self.leaves if self.leaves is not None else max(1, trees.s - edits.budget_depth(eps))
        self._check_fits(trees, leaves)
        return trees.default_distribution(), random_tree(trees.n, leaves, rng)

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray,
                 eps: float, rng: np.random.Generator) -> Function | None:
        trees = edits.tree_class(cls, self.name)
        tree = edits.tree_of(f, self.name)
        x = np.asarray(x_star, dtype=np.uint8).reshape(1, -1)
        leaf = int(tree.leaf_of(x)[0])
        on_path = tree.path_variables(x)[0]
        m = max(0, edits.budget_depth(eps) - int(on_path.sum()))
        if m == 0:
            return edits.flip_leaf(tree, leaf)
        fresh = np.flatnonzero(~on_path)
        if tree.leaves + m > trees.s or len(fresh) < m:
            return None
        variables = rng.choice(fresh, size=m, replace=False).tolist()
        old = int(tree.label[leaf])
        sub = edits.chain(variables, x[0, variables].tolist(), [old] * m, 1 - old)
        return edits.build(tree.n, edits.graft(edits.nodes_of(tree), leaf, sub))
