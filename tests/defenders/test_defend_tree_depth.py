"""The white-box depth defender on decision trees."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from defendability import Game
from defendability.classes.base import Counted
from defendability.classes.trees import TreeFunction, Trees, random_tree
from defendability.defenders.tree_depth import TreeDepth
from defendability.errors import IncompatibleError, ParameterError
from defendability.registry import build
from defendability.spaces import Sampler, UniformCube


def fit(defender, cls, tree, eps=0.01, seed=0):
    counted = Counted(tree)
    sampler = Sampler(cls.default_distribution(), np.random.default_rng(seed))
    return defender.fit(cls, counted, sampler, eps, np.random.default_rng(seed + 1)), counted, sampler


def comb(n: int, depth: int) -> TreeFunction:
    """x_0 = 1 -> leaf 1; else x_1 = 1 -> leaf 1; ... : the input leaving at test j sits
    at effective depth j + 1, the all-zero prefix at depth ``depth``."""
    feature, low, high, label = [], [], [], []
    for j in range(depth):
        feature += [j, -1]
        low += [2 * j + 2, -1]
        high += [2 * j + 1, -1]
        label += [0, 1]
    return TreeFunction(n, feature + [-1], low + [-1], high + [-1], label + [0])


def test_thresholds_of_the_three_settings():
    cls = Trees(n=30, s=64)
    assert TreeDepth().threshold(cls, 0.01) == pytest.approx(math.log2(640))
    assert TreeDepth(delta=0.25).threshold(cls, 0.01) == pytest.approx(8.0)
    assert TreeDepth(mode="eps").threshold(cls, 2.0 ** -12) == pytest.approx(6.0)
    assert TreeDepth(t=3).threshold(cls, 0.5) == 3.0 and TreeDepth(t=3, mode="eps").threshold(cls, 0.5) == 3.0
    assert [repr(d) for d in (TreeDepth(), TreeDepth(delta=0.2), TreeDepth(mode="eps"), TreeDepth(t=5))] == \
        ["tree-depth", "tree-depth:delta=0.2", "tree-depth:mode=eps", "tree-depth:t=5"]
    assert repr(build("defenders", "tree-depth:t=5")) == "tree-depth:t=5.0"


def test_scores_are_effective_depths_and_cost_nothing():
    cls, tree = Trees(n=8, s=8), comb(8, 6)
    detector, counted, sampler = fit(TreeDepth(t=3.5), cls, tree)
    x = np.zeros((7, 8), dtype=np.uint8)
    for j in range(6):
        x[j, j] = 1  # leaves the comb at test j
    scores = detector.score(x)
    assert scores.dtype == float and scores.tolist() == [1, 2, 3, 4, 5, 6, 6]
    assert detector.decide(x).tolist() == [False, False, False, True, True, True, True]
    s, d = detector.score_and_decide(x)
    assert s.tolist() == scores.tolist() and d.tolist() == detector.decide(x).tolist()
    assert counted.evaluations == 0 and sampler.drawn == 0  # white-box: it reads, never calls or samples


def test_repeated_tests_count_once():
    # x_0 tested at the root and again below: the path 1 -> x_0 again -> x_1 has 2 distinct variables
    tree = TreeFunction(4, [0, -1, 0, 1, -1, -1, -1], [1, -1, 6, 4, -1, -1, -1], [2, -1, 3, 5, -1, -1, -1],
                        [0, 0, 0, 0, 1, 0, 1])
    detector, _, _ = fit(TreeDepth(t=1.5), Trees(n=4, s=4), tree)
    x = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 1]], dtype=np.uint8)
    assert detector.score(x).tolist() == [2.0, 2.0, 1.0]
    assert detector.decide(x).tolist() == [True, True, False]


@pytest.mark.parametrize("t", [0.0, 2.5, 4.0, 7.0])
def test_false_alarm_rate_is_the_mass_of_deep_leaves_and_below_s_2_to_minus_t(t):
    cls = Trees(n=10, s=40)
    points = UniformCube(10).support()[0]
    rng = np.random.default_rng(int(t * 10))
    for _ in range(20):
        tree = random_tree(10, int(rng.integers(1, 41)), rng)
        detector, _, _ = fit(TreeDepth(t=t), cls, tree)
        alpha = Fraction(int(detector.decide(points).sum()), len(points))
        care, _, _ = tree.cells()
        depths = care[tree.feature == -1].sum(axis=1)
        assert alpha == sum((Fraction(1, 2 ** int(d)) for d in depths if d > t), Fraction(0))
        assert alpha < tree.leaves * 2.0 ** -t
    assert TreeDepth(t=t).guarantee(cls, 0.001) == {"alpha": min(1.0, 40 * 2.0 ** -t),
                                                    "beta": min(1.0, 40 * 0.001 * 2.0 ** t)}


def test_guarantee_in_the_delta_and_eps_modes():
    cls = Trees(n=30, s=64)
    g = TreeDepth(delta=0.1).guarantee(cls, 2.0 ** -20)
    assert g["alpha"] == pytest.approx(0.1) and g["beta"] == pytest.approx(64 ** 2 * 2.0 ** -20 / 0.1)
    g = TreeDepth(mode="eps").guarantee(cls, 2.0 ** -20)
    assert g["alpha"] == pytest.approx(64 * 2.0 ** -10) and g["beta"] == pytest.approx(64 * 2.0 ** -10)
    assert TreeDepth().guarantee(cls, 0.01)["beta"] == 1.0
    assert TreeDepth().guarantee(build("classes", "parities:n=5"), 0.01) is None


def test_refuses_other_classes_and_bad_parameters():
    parities = build("classes", "parities:n=6")
    with pytest.raises(IncompatibleError, match="not 'trees'"):
        fit(TreeDepth(), parities, parities.random_member(np.random.default_rng(0)))
    with pytest.raises(IncompatibleError, match="reads decision trees, got ParityFunction"):
        fit(TreeDepth(), Trees(n=6, s=4), parities.random_member(np.random.default_rng(0)))
    with pytest.raises(IncompatibleError, match="not 'trees'"):
        Game("parities:n=6", "shatter", "tree-depth", 1 / 6).play(rounds=1)
    for spec, message in [("tree-depth:delta=0", "delta must be"), ("tree-depth:mode=depth", "mode must be"),
                          ("tree-depth:t=-1", "t must be")]:
        with pytest.raises(ParameterError, match=message):
            build("defenders", spec)


def test_graded_scores_give_an_auroc_in_the_game():
    r = Game("trees:n=20,s=32", "isolating-chain", "tree-depth", 2.0 ** -12).play(rounds=150, seed=2)
    assert TreeDepth.graded and r.auroc is not None and r.auroc > 0.9
    assert r.cost["evaluations_per_decision"] == 0 and r.cost["samples_per_decision"] == 0
    assert r.beta == 0.0  # x* sits at effective depth >= 12 > log2(32/0.1) in every f*
