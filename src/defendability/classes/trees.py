"""Decision trees over {0,1}^n with at most s leaves (THEORY.md §3, "Decision trees")."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..errors import ParameterError, check
from ..registry import register
from ..spaces import Distribution
from .base import CubeDomain, Function, FunctionClass, exact_member, is_array, unwrap
from .parities import as_bit_rows

#: Largest n of the class (bounds the (leaves x n) path masks).
MAX_N = 4096

#: Largest s of the class: the exact distance compares every pair of leaves.
MAX_S = 4096

# Leaf pairs compared at once by the exact distance (bounds its memory).
_PAIR_CHUNK = 1 << 22


def _structure_error(n: int, feature: np.ndarray, low: np.ndarray, high: np.ndarray,
                     label: np.ndarray) -> str | None:
    """Why the arrays are not a decision tree on {0,1}^n rooted at node 0, or ``None``.

    A tree: 1-D arrays of one length (at least 1); a leaf has feature = low = high = -1;
    an internal node tests a variable in [0, n) and has two children in [1, size); the
    root has no parent, every other node exactly one, and every node is reachable from
    the root (so the graph is acyclic); labels are 0 or 1.
    """
    size = len(feature)
    if size == 0 or not (len(low) == len(high) == len(label) == size):
        return "feature, low, high and label must be non-empty and of one length"
    leaf = feature == -1
    if not (np.array_equal(leaf, low == -1) and np.array_equal(leaf, high == -1)):
        return "a leaf must have feature = low = high = -1, an internal node none of them -1"
    inner = ~leaf
    if np.any((feature[inner] < 0) | (feature[inner] >= n)):
        return f"tested variables must lie in [0, {n})"
    children = np.concatenate([low[inner], high[inner]])
    if np.any((children < 1) | (children >= size)):
        return f"children must be node indices in [1, {size}) (node 0 is the root)"
    parents = np.bincount(children, minlength=size)
    if parents[0] != 0 or np.any(parents[1:] != 1):
        return "every node but the root must have exactly one parent"
    if np.any(label > 1):
        return "labels must be 0 or 1"
    # In-degree one everywhere but the root: the nodes reachable from the root form a
    # tree; any other node would sit on a cycle of its own, so count the reachable ones.
    reached, frontier = 1, np.zeros(1, dtype=np.int64)
    while len(frontier):
        frontier = frontier[inner[frontier]]
        frontier = np.concatenate([low[frontier], high[frontier]])
        reached += len(frontier)
    if reached != size:
        return "every node must be reachable from the root (no cycles)"
    return None


class TreeFunction(Function):
    """A decision tree on {0,1}^n. Representation: four ``(size,)`` arrays over nodes,
    node 0 the root.

    ``feature`` (int64): the variable tested at an internal node, -1 at leaves; ``low``
    and ``high`` (int64): the child taken when the tested bit is 0 or 1, -1 at leaves;
    ``label`` (uint8, 0/1): the output at a leaf (ignored at internal nodes). ``n`` is the
    number of variables. A variable may be tested twice on a path (the representation
    allows it; a branch contradicting an earlier test is an empty cell); the *effective
    depth* of a path counts its distinct variables. A batch ``(m, n)`` of 0/1 rows gives
    ``(m,)`` uint8. Evaluation reads the arrays on every call (nothing is cached), so
    the function cannot differ from what its representation says. Malformed arrays
    raise ``ValueError``.
    """

    def __init__(self, n: int, feature: np.ndarray, low: np.ndarray, high: np.ndarray, label: np.ndarray):
        self.n = int(n)
        self.feature = np.asarray(feature, dtype=np.int64).reshape(-1).copy()
        self.low = np.asarray(low, dtype=np.int64).reshape(-1).copy()
        self.high = np.asarray(high, dtype=np.int64).reshape(-1).copy()
        self.label = np.asarray(label, dtype=np.uint8).reshape(-1).copy()
        error = _structure_error(self.n, self.feature, self.low, self.high, self.label)
        if error is not None:
            raise ValueError(f"not a decision tree: {error}")

    @classmethod
    def constant(cls, n: int, value: int) -> TreeFunction:
        """The one-leaf tree with label ``value``."""
        return cls(n, [-1], [-1], [-1], [value])

    @property
    def size(self) -> int:
        """Number of nodes."""
        return len(self.feature)

    @property
    def leaves(self) -> int:
        """Number of leaves (the size measure of the class)."""
        return int(np.count_nonzero(self.feature == -1))

    def _walk(self, x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Leaf node of each row of ``x`` (``(m, n)`` uint8), as ``(m,)`` int64.

        Iterates over depth, each step one vectorised move of every input not yet at a
        leaf; when ``mask`` (``(m, n)`` bool) is given, marks the variables each input
        is tested on.
        """
        node = np.zeros(len(x), dtype=np.int64)
        active = np.arange(len(x))
        for _ in range(self.size):  # a path visits each node at most once
            tested = self.feature[node[active]]
            moving = tested >= 0
            active, tested = active[moving], tested[moving]
            if len(active) == 0:
                break
            if mask is not None:
                mask[active, tested] = True
            here = node[active]
            node[active] = np.where(x[active, tested] == 1, self.high[here], self.low[here])
        return node

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = as_bit_rows(x, self.n)
        return self.label[self._walk(x)]

    def leaf_of(self, x: np.ndarray) -> np.ndarray:
        """Node index of the leaf each row of ``x`` (``(m, n)``) reaches, ``(m,)`` int64."""
        return self._walk(as_bit_rows(x, self.n))

    def path_variables(self, x: np.ndarray) -> np.ndarray:
        """Which variables each row of ``x`` (``(m, n)``) is tested on along its
        root-to-leaf path: ``(m, n)`` bool (a variable tested twice counts once)."""
        x = as_bit_rows(x, self.n)
        mask = np.zeros(x.shape, dtype=bool)
        self._walk(x, mask)
        return mask

    def effective_depth(self, x: np.ndarray) -> np.ndarray:
        """Number of distinct variables on each row's root-to-leaf path, ``(m,)`` int64:
        the row sums of :meth:`path_variables` (equal to the size of the reached leaf's
        cell in :meth:`cells`)."""
        return self.path_variables(x).sum(axis=1, dtype=np.int64)

    def cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The sub-cube of every node: ``(care, value, empty)``.

        ``care`` ``(size, n)`` bool: the variables fixed by the tests on the path from
        the root; ``value`` ``(size, n)`` uint8: the bits they are fixed to (0 where not
        fixed); ``empty`` ``(size,)`` bool: the path contradicts itself (a variable
        tested twice with different outcomes), so no input reaches the node. A non-empty
        node's cell has mass 2^-care.sum() under the uniform cube; the leaves' non-empty
        cells partition the cube. Computed level by level, vectorised over each level.
        """
        size = self.size
        care = np.zeros((size, self.n), dtype=bool)
        value = np.zeros((size, self.n), dtype=np.uint8)
        empty = np.zeros(size, dtype=bool)
        frontier = np.zeros(1, dtype=np.int64)
        while len(frontier):
            frontier = frontier[self.feature[frontier] >= 0]
            var = self.feature[frontier]
            for bit, child in ((0, self.low[frontier]), (1, self.high[frontier])):
                care[child] = care[frontier]
                value[child] = value[frontier]
                empty[child] = empty[frontier] | (care[frontier, var] & (value[frontier, var] != bit))
                care[child, var] = True
                value[child, var] = bit
            frontier = np.concatenate([self.low[frontier], self.high[frontier]])
        return care, value, empty

    def key(self) -> tuple:
        return ("tree", self.n, self.feature.tobytes(), self.low.tobytes(), self.high.tobytes(),
                self.label.tobytes())

    def __repr__(self) -> str:
        return f"TreeFunction(n={self.n}, leaves={self.leaves}, nodes={self.size})"


def random_tree(n: int, leaves: int, rng: np.random.Generator) -> TreeFunction:
    """A random tree with ``leaves`` leaves (fewer only if no leaf can be split further).

    Grown from one leaf by splitting a uniformly random splittable leaf on a uniformly
    random variable not yet tested on its path (so every path tests distinct variables
    and its depth is its effective depth), until the tree has ``leaves`` leaves; then
    every leaf gets a uniform random label (internal labels are 0).
    """
    feature, low, high = [-1], [-1], [-1]
    splittable: list[tuple[int, frozenset[int]]] = [(0, frozenset())]  # (leaf, variables on its path)
    count = 1
    while count < leaves and splittable:
        i = int(rng.integers(len(splittable)))
        splittable[i], splittable[-1] = splittable[-1], splittable[i]  # O(1) removal
        leaf, used = splittable.pop()
        if 2 * len(used) < n:  # rejection is cheap while most variables are free
            var = int(rng.integers(n))
            while var in used:
                var = int(rng.integers(n))
        else:
            free = [v for v in range(n) if v not in used]
            var = free[int(rng.integers(len(free)))]
        children = len(feature), len(feature) + 1
        feature[leaf], low[leaf], high[leaf] = var, children[0], children[1]
        feature += [-1, -1]
        low += [-1, -1]
        high += [-1, -1]
        if len(used) + 1 < n:
            splittable += [(child, used | {var}) for child in children]
        count += 1
    label = rng.integers(0, 2, size=len(feature), dtype=np.uint8)
    label[np.asarray(feature) >= 0] = 0
    return TreeFunction(n, feature, low, high, label)


@register("classes", "trees")
class Trees(CubeDomain, FunctionClass):
    """Decision trees over {0,1}^n with at most s leaves (size measure: leaves).

    Points are 0/1 rows of length n (``point_shape == (n,)``, uint8); a member is a
    :class:`TreeFunction`. Default distribution: uniform on {0,1}^n, the fixed
    distribution of THEORY.md §3's tree results.

    VC dimension: ``vc_dimension`` returns d = min(s, 2^n), the size of the shattered
    set we exhibit, a lower bound on the true VC dimension: a tree with at most m leaves
    realises any labelling of m distinct points (split on a variable where they differ,
    recurse; every split leaves both sides non-empty). The true value lies between s
    and (s - 1)(2 + log2 n) + s (at most 4^(s-1) shapes, n^(s-1) choices of tested
    variables and 2^s labellings), i.e. Theta(s log n) for large n; the shattering
    attackers and the eps*d axis of reports use d = min(s, 2^n).

    ``shattered_set``: the binary codes of 0..d-1 on the first variables (rest 0).
    ``realise`` builds that splitting tree for any distinct points (``ParameterError`` if
    a point gets two labels or the tree needs more than s leaves). ``random_member``:
    :func:`random_tree` with a uniform number of leaves in {1..s}. ``exact_distance``
    under the uniform cube (sum over pairs of consistent leaves with different labels,
    of 2^-(distinct variables of both paths)); ``None`` elsewhere. ``fit_member``:
    scikit-learn's CART (``DecisionTreeClassifier(max_leaf_nodes=s)``), a greedy
    heuristic, not an exact empirical-risk minimiser (that is NP-hard for trees).
    No ``cheapest_flip``: the cheapest flip within s leaves is a combinatorial search;
    the tree attackers build their flips themselves. ``members()`` is ``None``.
    """

    test_spec = "trees:n=6,s=8"

    def __init__(self, n: int = 30, s: int = 64):
        check(isinstance(n, numbers.Integral) and 1 <= n <= MAX_N,
              f"trees: n must be an integer in [1, {MAX_N}], got n={n}")
        check(isinstance(s, numbers.Integral) and 1 <= s <= MAX_S,
              f"trees: s must be an integer in [1, {MAX_S}], got s={s}")
        self.n, self.s = int(n), int(s)

    @property
    def vc_dimension(self) -> int:
        return self.s if self.n >= 13 else min(self.s, 1 << self.n)  # 2^13 > MAX_S

    def shattered_set(self) -> np.ndarray:
        codes = np.arange(self.vc_dimension, dtype=np.int64)
        bits = min(self.n, max(1, int(self.vc_dimension - 1).bit_length()))
        points = np.zeros((len(codes), self.n), dtype=np.uint8)
        points[:, :bits] = (codes[:, None] >> np.arange(bits)) & 1
        return points

    def realise(self, points: np.ndarray, labels: np.ndarray) -> TreeFunction:
        """A tree labelling ``points`` (``(m, n)``) as ``labels`` (``(m,)``), with at most
        as many leaves as there are distinct points: split each node's points on the
        first variable where they differ, until each node's points share one label."""
        points = as_bit_rows(points, self.n)
        labels = np.asarray(labels).reshape(-1)
        check(len(points) == len(labels), "trees: realise needs one label per point")
        check(bool(np.all((labels == 0) | (labels == 1))), "trees: labels must be 0 or 1")
        feature, low, high, label = [-1], [-1], [-1], [0]
        stack = [(0, np.arange(len(points)))]
        while stack:
            node, rows = stack.pop()
            if len(rows) == 0 or np.all(labels[rows] == labels[rows[0]]):
                label[node] = int(labels[rows[0]]) if len(rows) else 0
                continue
            differs = np.flatnonzero(np.any(points[rows] != points[rows[0]], axis=0))
            if len(differs) == 0:
                raise ParameterError("trees: realise got a point labelled both 0 and 1")
            var = int(differs[0])
            children = len(feature), len(feature) + 1
            feature[node], low[node], high[node] = var, children[0], children[1]
            feature += [-1, -1]
            low += [-1, -1]
            high += [-1, -1]
            label += [0, 0]
            ones = points[rows, var] == 1
            stack += [(children[0], rows[~ones]), (children[1], rows[ones])]
        tree = TreeFunction(self.n, feature, low, high, label)
        if tree.leaves > self.s:
            raise ParameterError(f"trees: realising these labels takes {tree.leaves} leaves, more than s={self.s}")
        return tree

    def contains(self, f: Function) -> bool:
        """A :class:`TreeFunction` exactly (no subclass) on n variables, with at most s
        leaves, whose arrays are plain numpy arrays of the stated dtypes forming a valid
        tree (checked again here: arrays can be replaced after construction)."""
        f = exact_member(f, TreeFunction)
        if f is None or type(f.n) is not int or f.n != self.n:
            return False
        size = len(f.feature) if type(f.feature) is np.ndarray else -1
        if not (is_array(f.feature, (size,), np.int64) and is_array(f.low, (size,), np.int64)
                and is_array(f.high, (size,), np.int64) and is_array(f.label, (size,), np.uint8)):
            return False
        if _structure_error(self.n, f.feature, f.low, f.high, f.label) is not None:
            return False
        return f.leaves <= self.s

    def rebuild(self, f: Function) -> TreeFunction:
        """A fresh :class:`TreeFunction` from ``f``'s checked arrays (the constructor copies
        them): nothing of the object the attacker built (other attributes, later changes
        to its arrays) reaches the referee's member."""
        f = unwrap(f)
        return TreeFunction(self.n, f.feature, f.low, f.high, f.label)

    def random_member(self, rng: np.random.Generator) -> TreeFunction:
        return random_tree(self.n, int(rng.integers(1, self.s + 1)), rng)

    def exact_distance(self, f: Function, g: Function, dist: Distribution) -> float | None:
        """Pr[f != g] under the uniform cube, exactly; ``None`` for other distributions
        or functions that are not trees on n variables.

        The leaves' non-empty cells of f (A) and of g (B) partition the cube, so
        {f != g} is the disjoint union of the cells A ∩ B with different labels; A ∩ B
        is empty when the paths fix a variable to different bits, else a sub-cube of
        mass 2^-|vars(A) ∪ vars(B)|. Conflicts and union sizes come from matrix products
        over the leaves' masks; the masses are summed by exponent (integer counts
        times powers of two, exact) and added with ``math.fsum``, so the result is the
        correctly rounded exact value (exactly the enumeration's count / 2^n for
        n <= 53).
        """
        if not self._is_cube(dist):
            return None
        f, g = unwrap(f), unwrap(g)
        if not (isinstance(f, TreeFunction) and isinstance(g, TreeFunction) and f.n == g.n == self.n):
            return None
        care_f, ones_f, zeros_f, label_f = _leaf_cells(f)
        care_g, ones_g, zeros_g, label_g = _leaf_cells(g)
        size_f, size_g = care_f.sum(axis=1), care_g.sum(axis=1)
        counts = np.zeros(self.n + 1, dtype=np.int64)
        step = max(1, _PAIR_CHUNK // max(1, len(label_g)))
        for start in range(0, len(label_f), step):
            part = slice(start, start + step)
            # matrix products of 0/1 float matrices count exactly (counts <= n < 2^53)
            conflict = (ones_f[part] @ zeros_g.T + zeros_f[part] @ ones_g.T) > 0
            union = (size_f[part, None] + size_g[None, :] - care_f[part] @ care_g.T).astype(np.int64)
            differ = label_f[part, None] != label_g[None, :]
            counts += np.bincount(union[differ & ~conflict], minlength=self.n + 1)
        return math.fsum(math.ldexp(float(c), -k) for k, c in enumerate(counts.tolist()) if c)

    def fit_member(self, X: np.ndarray, Y: np.ndarray) -> TreeFunction:
        """CART with at most s leaves (scikit-learn, ``random_state=0`` for ties), as a
        :class:`TreeFunction`. ``X``: ``(k, n)`` 0/1, ``Y``: ``(k,)``. A greedy heuristic:
        consistent with the batch whenever its splits separate the labels within s
        leaves, not an exact empirical-risk minimiser. One label only (or s = 1): the
        constant of the majority label (0 on ties and on an empty batch)."""
        X = as_bit_rows(X, self.n)
        Y = np.asarray(Y).reshape(-1).astype(np.uint8)
        if self.s == 1 or len(np.unique(Y)) < 2:
            return TreeFunction.constant(self.n, int(2 * int(Y.sum()) > len(Y)))
        # imported here: the core package imports fast without scikit-learn's trees
        from sklearn.tree import DecisionTreeClassifier

        model = DecisionTreeClassifier(max_leaf_nodes=self.s, random_state=0).fit(X, Y)
        tree = model.tree_
        leaf = tree.children_left == -1
        feature = np.where(leaf, -1, tree.feature).astype(np.int64)
        # on 0/1 inputs every threshold lies in (0, 1): "x <= threshold" is the 0-branch
        label = model.classes_[np.argmax(tree.value[:, 0, :], axis=1)].astype(np.uint8)
        return TreeFunction(self.n, feature, tree.children_left, tree.children_right, np.where(leaf, label, 0))


def _leaf_cells(f: TreeFunction) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The non-empty leaf cells of f as float masks ``(L, n)``: fixed variables, those
    fixed to 1, those fixed to 0; and their labels ``(L,)``."""
    care, value, empty = f.cells()
    keep = (f.feature == -1) & ~empty
    care, value = care[keep], value[keep]
    return (care.astype(np.float64), (care & (value == 1)).astype(np.float64),
            (care & (value == 0)).astype(np.float64), f.label[keep])
