"""Decision trees over {0,1}^n with at most s leaves."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from class_contract import check_evaluates, check_realises_shattered_set

from defendability import Game
from defendability.attackers.base import Attacker
from defendability.classes.base import Counted
from defendability.classes.trees import TreeFunction, Trees, random_tree
from defendability.errors import ParameterError
from defendability.registry import build
from defendability.spaces import FiniteDistribution, UniformCube


def cube(n: int) -> np.ndarray:
    return UniformCube(n).support()[0]


def arbitrary_tree(n: int, leaves: int, rng: np.random.Generator) -> TreeFunction:
    """A random tree whose splits draw from all n variables, so that a path may test a
    variable twice (agreeing or contradicting itself: empty cells), and whose node
    numbers are shuffled (children need not come after their parents)."""
    feature, low, high = [-1], [-1], [-1]
    while len(feature) < 2 * leaves - 1:
        leaf = int(rng.choice([i for i, f in enumerate(feature) if f == -1]))
        feature[leaf], low[leaf], high[leaf] = int(rng.integers(n)), len(feature), len(feature) + 1
        feature += [-1, -1]
        low += [-1, -1]
        high += [-1, -1]
    size = len(feature)
    order = np.concatenate([[0], 1 + rng.permutation(size - 1)])  # new index of each old node
    new = np.empty(size, dtype=np.int64)
    new[order] = np.arange(size)

    def renumber(child: int) -> int:
        return -1 if child < 0 else int(order[child])

    arrays = [np.empty(size, dtype=np.int64) for _ in range(3)]
    for old in range(size):
        arrays[0][order[old]] = feature[old]
        arrays[1][order[old]] = renumber(low[old])
        arrays[2][order[old]] = renumber(high[old])
    label = rng.integers(0, 2, size=size, dtype=np.uint8)
    return TreeFunction(n, *arrays, label)


def reference_walk(f: TreeFunction, x: np.ndarray) -> tuple[int, set[int]]:
    """The leaf one input reaches and the variables tested on the way, one node at a time."""
    node, tested = 0, set()
    while f.feature[node] >= 0:
        var = int(f.feature[node])
        tested.add(var)
        node = int(f.high[node] if x[var] == 1 else f.low[node])
    return node, tested


def enumerated_distance(f: TreeFunction, g: TreeFunction) -> Fraction:
    points = cube(f.n)
    return Fraction(int(np.count_nonzero(f(points) != g(points))), len(points))


@pytest.mark.parametrize("make", [random_tree, arbitrary_tree], ids=["random", "arbitrary"])
def test_evaluation_leaves_and_paths_match_a_per_input_walk(make):
    rng = np.random.default_rng(0)
    for n, leaves in [(1, 2), (4, 6), (9, 25), (30, 40)]:
        f = make(n, leaves, rng)
        x = rng.integers(0, 2, size=(200, n), dtype=np.uint8)
        walks = [reference_walk(f, row) for row in x]
        leaf = np.array([w[0] for w in walks])
        np.testing.assert_array_equal(f.leaf_of(x), leaf)
        got = f(x)
        assert got.dtype == np.uint8 and got.shape == (200,)
        np.testing.assert_array_equal(got, f.label[leaf])
        mask = np.zeros((200, n), dtype=bool)
        for i, (_, tested) in enumerate(walks):
            mask[i, list(tested)] = True
        np.testing.assert_array_equal(f.path_variables(x), mask)
        np.testing.assert_array_equal(f.effective_depth(x), mask.sum(axis=1))
        # the reached leaf's cell fixes exactly the variables tested on the way
        care, value, empty = f.cells()
        np.testing.assert_array_equal(care[leaf], mask)
        np.testing.assert_array_equal(value[leaf][mask], x[mask])
        assert not empty[leaf].any()


def test_leaf_cells_partition_the_cube():
    rng = np.random.default_rng(1)
    for _ in range(30):
        f = arbitrary_tree(6, int(rng.integers(1, 20)), rng)
        care, _, empty = f.cells()
        leaves = (f.feature == -1) & ~empty
        assert sum(Fraction(1, 2 ** int(c)) for c in care[leaves].sum(axis=1)) == 1
        reached = np.bincount(f.leaf_of(cube(6)), minlength=f.size)
        np.testing.assert_array_equal(reached[leaves], 2 ** (6 - care[leaves].sum(axis=1)))
        assert reached[empty].sum() == 0


@pytest.mark.parametrize("n", [1, 3, 8, 16])
def test_exact_distance_equals_enumeration(n):
    rng = np.random.default_rng(n)
    cls = Trees(n=n, s=40)
    dist = UniformCube(n)
    pairs = 120 if n < 16 else 40
    for i in range(pairs):
        make = random_tree if i % 2 else arbitrary_tree
        f = make(n, int(rng.integers(1, 41)), rng)
        g = make(n, int(rng.integers(1, 41)), rng)
        if i % 5 == 0:  # near pairs: g is f with one leaf relabelled
            label = f.label.copy()
            label[rng.choice(np.flatnonzero(f.feature == -1))] ^= 1
            g = TreeFunction(n, f.feature, f.low, f.high, label)
        got = cls.exact_distance(f, g, dist)
        assert Fraction(got) == enumerated_distance(f, g), (n, i)
        assert cls.exact_distance(Counted(f), g, dist) == got == cls.exact_distance(g, f, dist)


def test_exact_distance_is_only_for_trees_under_the_uniform_cube():
    cls = Trees(n=4, s=8)
    f, g = random_tree(4, 5, np.random.default_rng(0)), random_tree(4, 5, np.random.default_rng(1))
    points = cube(4)
    assert cls.exact_distance(f, g, FiniteDistribution(points, np.full(16, 1 / 16))) is None
    assert cls.exact_distance(f, g, UniformCube(5)) is None
    assert cls.exact_distance(f, random_tree(5, 3, np.random.default_rng(2)), UniformCube(4)) is None
    parity = build("classes", "parities:n=4").random_member(np.random.default_rng(0))
    assert cls.exact_distance(f, parity, UniformCube(4)) is None


def test_constructor_rejects_malformed_trees():
    ok = {"feature": [0, -1, -1], "low": [1, -1, -1], "high": [2, -1, -1], "label": [0, 0, 1]}
    assert TreeFunction(3, **ok).leaves == 2
    bad = [
        dict(ok, feature=[3, -1, -1]),  # variable out of range
        dict(ok, low=[0, -1, -1]),  # the root as a child
        dict(ok, low=[2, -1, -1]),  # node 2 with two parents, node 1 with none
        dict(ok, label=[0, 2, 1]),  # not a bit
        dict(ok, high=[-1, -1, -1]),  # half a leaf
        # node 3 with two parents (and node 2 its own child)
        {"feature": [0, -1, 1, -1], "low": [1, -1, 3, -1], "high": [3, -1, 2, -1], "label": [0] * 4},
        # every node has one parent, but nodes 3 and 4 form a cycle the root cannot reach
        {"feature": [0, -1, -1, 1, 1, -1, -1], "low": [1, -1, -1, 4, 3, -1, -1],
         "high": [2, -1, -1, 5, 6, -1, -1], "label": [0] * 7},
        {"feature": [], "low": [], "high": [], "label": []},
    ]
    for arrays in bad:
        with pytest.raises(ValueError, match="not a decision tree"):
            TreeFunction(3, **arrays)


def test_contains_checks_type_size_and_structure():
    cls = Trees(n=5, s=6)
    f = random_tree(5, 6, np.random.default_rng(0))
    assert cls.contains(f) and cls.contains(Counted(f))
    assert not cls.contains(random_tree(5, 7, np.random.default_rng(0)))  # too many leaves
    assert not cls.contains(random_tree(6, 3, np.random.default_rng(0)))  # other n

    class Sneaky(TreeFunction):
        pass

    assert not cls.contains(Sneaky(5, f.feature, f.low, f.high, f.label))
    broken = TreeFunction(5, f.feature, f.low, f.high, f.label)
    broken.low = broken.low.copy()
    broken.low[0] = 0  # a cycle through the root, after construction
    assert not cls.contains(broken)
    wrong_dtype = TreeFunction(5, f.feature, f.low, f.high, f.label)
    wrong_dtype.label = wrong_dtype.label.astype(np.int64)
    assert not cls.contains(wrong_dtype)
    assert not cls.contains(build("classes", "parities:n=5").random_member(np.random.default_rng(0)))


def test_random_members_have_distinct_variables_on_each_path_and_fit_the_budget():
    cls = Trees(n=8, s=12)
    rng = np.random.default_rng(3)
    sizes = set()
    for _ in range(200):
        f = cls.random_member(rng)
        assert cls.contains(f)
        sizes.add(f.leaves)
        # distinct variables on every path: each leaf's cell fixes as many variables as
        # its path has edges
        parent = np.full(f.size, -1)
        inner = np.flatnonzero(f.feature >= 0)
        parent[f.low[inner]], parent[f.high[inner]] = inner, inner
        care, _, empty = f.cells()
        for leaf in np.flatnonzero(f.feature == -1):
            edges, node = 0, leaf
            while parent[node] >= 0:
                edges, node = edges + 1, parent[node]
            assert edges == care[leaf].sum() and not empty[leaf]
        assert np.all(f.label[f.feature >= 0] == 0)
    assert sizes == set(range(1, 13))
    assert random_tree(30, 64, rng).leaves == 64
    assert random_tree(2, 64, rng).leaves == 4  # at most 2^n leaves with distinct variables
    for member in (random_tree(4, 9, rng) for _ in range(20)):
        check_evaluates(Trees(n=4, s=9), member, rng)


@pytest.mark.parametrize("n,s", [(3, 5), (2, 9), (30, 8), (6, 64)])
def test_shattered_set_is_realised_within_s_leaves(n, s):
    cls = Trees(n=n, s=s)
    assert cls.vc_dimension == min(s, 2 ** n)
    T = cls.shattered_set()
    assert len(np.unique(T, axis=0)) == len(T)
    check_realises_shattered_set(cls, np.random.default_rng(0))


def test_realise_rejects_contradictions_and_oversized_trees():
    cls = Trees(n=4, s=3)
    with pytest.raises(ParameterError, match="labelled both"):
        cls.realise(np.array([[0, 1, 0, 0], [0, 1, 0, 0]]), np.array([0, 1]))
    points = cube(4)[:8]
    with pytest.raises(ParameterError, match="more than s=3"):
        cls.realise(points, points[:, :3].sum(axis=1) % 2)  # a parity of 3 bits: 8 leaves
    f = cls.realise(points[:3], np.array([1, 0, 1]))
    np.testing.assert_array_equal(f(points[:3]), [1, 0, 1])


def test_fit_member_is_scikit_learns_tree_converted_exactly():
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(4)
    for n, s, k in [(10, 8, 60), (30, 64, 200), (5, 2, 30)]:
        cls = Trees(n=n, s=s)
        X = rng.integers(0, 2, size=(k, n), dtype=np.uint8)
        Y = (X[:, 0] ^ (X[:, 1] & X[:, 2]) ^ (rng.random(k) < 0.1)).astype(np.uint8)
        f = cls.fit_member(X, Y)
        assert cls.contains(f) and f.leaves <= s
        model = DecisionTreeClassifier(max_leaf_nodes=s, random_state=0).fit(X, Y)
        queries = rng.integers(0, 2, size=(500, n), dtype=np.uint8)
        np.testing.assert_array_equal(f(queries), model.predict(queries))
    # consistent once s leaves can separate the batch
    cls = Trees(n=12, s=64)
    X = rng.integers(0, 2, size=(40, 12), dtype=np.uint8)
    Y = rng.integers(0, 2, size=40, dtype=np.uint8)
    np.testing.assert_array_equal(cls.fit_member(X, Y)(X), Y)
    # one label, or s = 1: the constant of the majority
    assert cls.fit_member(X, np.ones(40)).leaves == 1 and cls.fit_member(X, np.ones(40))(X).min() == 1
    assert Trees(n=12, s=1).fit_member(X, np.r_[np.ones(25), np.zeros(15)])(X).tolist() == [1] * 40


def test_spec_and_erm_vote_play_on_trees():
    cls = build("classes", "trees")
    assert (cls.n, cls.s, repr(cls)) == (30, 64, "trees:n=30,s=64")
    with pytest.raises(ParameterError, match="s must be"):
        build("classes", "trees:s=0")
    r = Game("trees:n=10,s=8", "point-flip", "vote:learner=erm,voters=5", 0.1).play(rounds=3, seed=0)
    assert r.rounds == 3  # point-flip finds no flip (no cheapest_flip): rounds are the defender's
    assert r.invalid_reasons == {"no_backdoor": 3}


def test_an_instance_walk_is_not_a_member():
    """A tree whose instance ``_walk`` sends x* to a leaf of the other label: its arrays
    say f, its calls say f flipped at x*."""
    cls = Trees(n=30, s=64)
    rng = np.random.default_rng(0)
    f = random_tree(30, 64, rng)
    x_star = rng.integers(0, 2, size=30).astype(np.uint8)
    other = int(np.flatnonzero((f.feature == -1) & (f.label != f(x_star[None])[0]))[0])
    lying = TreeFunction(f.n, f.feature, f.low, f.high, f.label)
    walk = TreeFunction._walk.__get__(lying)

    def to_other(x, mask=None):
        node = walk(x, mask)
        node[np.all(x == x_star[None], axis=1)] = other
        return node

    lying._walk = to_other
    assert lying(x_star[None])[0] != f(x_star[None])[0] and lying == f
    assert not cls.contains(lying) and not cls.contains(Counted(lying))


def test_rebuild_is_a_fresh_tree_from_the_arrays():
    cls = Trees(n=8, s=10)
    f = random_tree(8, 10, np.random.default_rng(1))
    f.note = "an attribute outside the representation"
    g = cls.rebuild(Counted(f))
    assert type(g) is TreeFunction and g is not f and g == f and cls.contains(g) and "note" not in vars(g)
    for name in ("feature", "low", "high", "label"):
        assert not np.shares_memory(getattr(g, name), getattr(f, name))
    f.label[f.feature == -1] ^= 1  # later edits of the arrays reach f only
    points = cube(8)
    np.testing.assert_array_equal(g(points), 1 - f(points))


class _EditsItsF(Attacker):
    """Flips x*'s leaf (a valid backdoor) and also rebinds its own f's labels to the
    flipped ones, as if f had been f* all along."""

    name = "edits-its-f"

    def setup(self, cls, eps, rng):
        return UniformCube(cls.n), random_tree(cls.n, cls.s, rng)

    def backdoor(self, cls, dist, f, x_star, eps, rng):
        label = f.label.copy()
        label[f.leaf_of(x_star[None])[0]] ^= 1
        f_star = TreeFunction(f.n, f.feature, f.low, f.high, label)
        f.label = label.copy()
        return f_star


def test_the_referee_plays_its_rebuilt_f_whatever_the_attacker_does_to_its_own():
    rounds = Game(Trees(n=10, s=8), _EditsItsF(), "accept", 0.5).play_rounds(0, range(4))
    # the referee's f is the tree as checked at setup: each backdoor flips it at x* alone
    assert [r.status for r in rounds] == ["valid"] * 4
    assert all(r.distance.exact and r.distance.value <= 0.5 for r in rounds)
