"""Building and editing decision trees for the tree attackers (THEORY.md §3, §4.2).

Trees are built as plain lists of node arrays (``feature``, ``low``, ``high``,
``label``; node 0 the root, -1 at leaves, as in :class:`TreeFunction`) and turned into a
:class:`TreeFunction` at the end, which validates them.
"""

from __future__ import annotations

import numpy as np

from ..budget import ceil_inverse
from ..classes.base import Function, FunctionClass, unwrap
from ..classes.trees import TreeFunction, Trees
from ..errors import IncompatibleError

Nodes = tuple[list[int], list[int], list[int], list[int]]


def tree_class(cls: FunctionClass, attacker: str) -> Trees:
    """``cls`` when it is the decision-tree class, else ``IncompatibleError``."""
    if not isinstance(cls, Trees):
        raise IncompatibleError(f"attacker {attacker!r} builds decision trees under the uniform cube; "
                                f"class {cls!r} is not 'trees' (use e.g. trees:n=30,s=64)")
    return cls


def tree_of(f: Function, attacker: str) -> TreeFunction:
    """The :class:`TreeFunction` behind ``f``, else ``IncompatibleError``."""
    f = unwrap(f)
    if not isinstance(f, TreeFunction):
        raise IncompatibleError(f"attacker {attacker!r} edits decision trees, got {type(f).__name__}")
    return f


def budget_depth(eps: float) -> int:
    """The least h >= 0 with 2^-h <= eps: ceil(log2(1/eps)), robust to float error
    (eps = 2^-k, or a value a few ulps off it, gives k)."""
    return (ceil_inverse(eps) - 1).bit_length()


def complete(variables: list[int], labels: np.ndarray) -> Nodes:
    """A complete tree testing ``variables[j]`` at depth j (heap layout: node i has
    children 2i+1 for bit 0 and 2i+2 for bit 1), with leaf labels ``labels``
    (``(2^h,)``, leaves in node order)."""
    h = len(variables)
    inner = (1 << h) - 1
    feature = [variables[(i + 1).bit_length() - 1] for i in range(inner)] + [-1] * (inner + 1)
    low = [2 * i + 1 for i in range(inner)] + [-1] * (inner + 1)
    high = [2 * i + 2 for i in range(inner)] + [-1] * (inner + 1)
    label = [0] * inner + [int(b) for b in labels]
    return feature, low, high, label


def chain(variables: list[int], bits: list[int], off_labels: list[int], end: int) -> Nodes:
    """A chain of tests: node j tests ``variables[j]``; the bit ``bits[j]`` continues the
    chain, the other bit ends at a leaf labelled ``off_labels[j]``; the end of the chain
    is a leaf labelled ``end``. Node numbering: test j is node 2j, its off-chain leaf
    node 2j+1, the end leaf node 2m."""
    feature, low, high, label = [], [], [], []
    m = len(variables)
    for j in range(m):
        on, off = 2 * j + 2, 2 * j + 1
        feature += [variables[j], -1]
        low += [on if bits[j] == 0 else off, -1]
        high += [on if bits[j] == 1 else off, -1]
        label += [0, int(off_labels[j])]
    return feature + [-1], low + [-1], high + [-1], label + [int(end)]


def end_of_chain(m: int) -> int:
    """Node index of the end leaf of a chain of m tests (see :func:`chain`)."""
    return 2 * m


def graft(tree: Nodes, leaf: int, sub: Nodes) -> Nodes:
    """``tree`` with its leaf ``leaf`` replaced by the tree ``sub``: sub's root takes the
    leaf's index, its other nodes are appended (sub's node j > 0 becomes len + j - 1)."""
    feature, low, high, label = (list(a) for a in tree)
    base = len(feature) - 1

    def moved(j: int) -> int:
        return -1 if j < 0 else (leaf if j == 0 else base + j)

    for j in range(len(sub[0])):
        fields = (sub[0][j], moved(sub[1][j]), moved(sub[2][j]), sub[3][j])
        if j == 0:
            feature[leaf], low[leaf], high[leaf], label[leaf] = fields
        else:
            for array, value in zip((feature, low, high, label), fields):
                array.append(value)
    return feature, low, high, label


def nodes_of(f: TreeFunction) -> Nodes:
    """The node arrays of ``f`` as lists (for :func:`graft`)."""
    return f.feature.tolist(), f.low.tolist(), f.high.tolist(), f.label.tolist()


def flip_leaf(f: TreeFunction, leaf: int) -> TreeFunction:
    """``f`` with the label of node ``leaf`` flipped (the structure unchanged)."""
    label = f.label.copy()
    label[leaf] ^= 1
    return TreeFunction(f.n, f.feature, f.low, f.high, label)


def build(n: int, nodes: Nodes) -> TreeFunction:
    """The :class:`TreeFunction` of node lists (validated)."""
    return TreeFunction(n, *nodes)
