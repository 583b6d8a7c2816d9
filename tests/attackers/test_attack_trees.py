"""The decision-tree attackers: junta-flip, hanging-junta, isolating-chain."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from defendability import Game
from defendability.attackers.hanging_junta import HangingJunta
from defendability.attackers.isolating_chain import IsolatingChain
from defendability.attackers.junta_flip import JuntaFlip
from defendability.classes.base import Counted
from defendability.classes.trees import Trees, random_tree
from defendability.errors import IncompatibleError, ParameterError
from defendability.registry import build
from defendability.spaces import UniformCube


def cube(n: int) -> np.ndarray:
    return UniformCube(n).support()[0]


def attack(attacker, cls, eps, seed):
    """One round's setup, trigger and backdoor, as the referee would play them."""
    rng = np.random.default_rng(seed)
    dist, f = attacker.setup(cls, eps, rng)
    x_star = dist.sample(rng, 1)[0]
    return dist, f, x_star, attacker.backdoor(cls, dist, f, x_star, eps, rng)


def check_backdoor(cls, dist, f, x_star, f_star, distance):
    """f* is a member flipping x*, at the stated exact distance (checked by enumeration
    too when the cube is small)."""
    assert cls.contains(f_star)
    assert f_star(x_star[None])[0] != f(x_star[None])[0]
    assert cls.exact_distance(f, f_star, dist) == distance
    if cls.n <= 14:
        points = cube(cls.n)
        assert np.count_nonzero(f(points) != f_star(points)) == distance * len(points)


@pytest.mark.parametrize("n,s,eps,h", [(12, 16, 1 / 16, 4), (12, 16, 0.1, 4), (30, 64, 1 / 64, 6), (12, 64, 0.3, 2)])
def test_junta_flip_flips_one_leaf_of_a_complete_tree(n, s, eps, h):
    cls, attacker = Trees(n=n, s=s), JuntaFlip()
    assert attacker.depth(eps) == h and attacker.lower_bound(cls, eps) == 1.0
    for seed in range(8):
        dist, f, x_star, f_star = attack(attacker, cls, eps, seed)
        assert isinstance(dist, UniformCube) and dist.n == n
        assert cls.contains(f) and f.leaves == 2 ** h
        x = dist.sample(np.random.default_rng(seed), 50)
        on_every_path = np.broadcast_to(np.arange(n) < h, (50, n))  # x_1..x_h, nothing else
        np.testing.assert_array_equal(f.path_variables(x), on_every_path)
        check_backdoor(cls, dist, f, x_star, f_star, 2.0 ** -h)
        np.testing.assert_array_equal(f_star.feature, f.feature)  # the same shape: only a label moved
        assert np.count_nonzero(f_star.label != f.label) == 1


def test_junta_flip_labels_are_uniform_and_the_flip_keeps_their_law():
    cls, attacker = Trees(n=8, s=8), JuntaFlip()
    clean, flipped = np.zeros(8), np.zeros(8)
    for seed in range(400):
        _, f, _, f_star = attack(attacker, cls, 1 / 8, seed)
        leaves = f.feature == -1
        clean += f.label[leaves]
        flipped += f_star.label[leaves]
    for ones in (*clean, *flipped):
        ci = binomtest(int(ones), 400).proportion_ci(confidence_level=0.999, method="wilson")
        assert ci.low <= 0.5 <= ci.high


def test_junta_flip_refuses_what_it_cannot_build():
    with pytest.raises(ParameterError, match="more than s=16"):
        JuntaFlip().setup(Trees(n=12, s=16), 1 / 32, np.random.default_rng(0))
    with pytest.raises(ParameterError, match="n=3 variables"):
        JuntaFlip(h=4).setup(Trees(n=3, s=16), 0.1, np.random.default_rng(0))
    with pytest.raises(IncompatibleError, match="not 'trees'"):
        JuntaFlip().setup(build("classes", "parities:n=6"), 0.25, np.random.default_rng(0))
    with pytest.raises(ParameterError, match="h must be"):
        build("attackers", "junta-flip:h=0")
    # an explicit h whose flip is over budget: no backdoor, no bound
    cls, attacker = Trees(n=12, s=16), JuntaFlip(h=3)
    _, _, _, f_star = attack(attacker, cls, 0.1, 0)
    assert f_star is None and attacker.lower_bound(cls, 0.1) is None
    assert attacker.lower_bound(cls, 0.125) == 1.0


def test_hanging_junta_default_shape_and_backdoor():
    cls, attacker, eps = Trees(n=30, s=64), HangingJunta(), 2.0 ** -10
    assert attacker.shape(cls, eps) == (5, 5)  # the largest h with (10 - h) + 2^h <= 64
    assert attacker.lower_bound(cls, eps) == 2.0 ** -5
    assert HangingJunta().shape(Trees(n=30, s=8), 2.0 ** -6) == (4, 2)
    assert HangingJunta(h=3).shape(cls, eps) == (7, 3) and HangingJunta(r=2).shape(cls, eps) == (2, 8)
    fired = 0
    for seed in range(300):
        dist, f, x_star, f_star = attack(attacker, cls, eps, seed)
        assert cls.contains(f) and f.leaves == 5 + 32
        depth = int(f.effective_depth(x_star[None])[0])
        if f_star is None:
            assert depth <= 5  # x* left the chain, at one of its first five tests
            continue
        fired += 1
        assert depth == 10
        check_backdoor(cls, dist, f, x_star, f_star, eps)
    ci = binomtest(fired, 300).proportion_ci(confidence_level=0.999, method="wilson")
    assert ci.low <= 2.0 ** -5 <= ci.high


def test_hanging_junta_with_h_zero_and_r_zero():
    # h = 0: the junta is a single leaf at the end of the chain
    cls = Trees(n=10, s=8)
    fired = 0
    for seed in range(64):
        dist, f, x_star, f_star = attack(HangingJunta(r=3, h=0), cls, 1 / 8, seed)
        assert f.leaves == 4
        if f_star is not None:
            fired += 1
            check_backdoor(cls, dist, f, x_star, f_star, 1 / 8)
    assert 0 < fired < 64
    # r = 0: a junta-flip
    dist, f, x_star, f_star = attack(HangingJunta(r=0, h=3), cls, 1 / 8, 0)
    assert f.leaves == 8
    check_backdoor(cls, dist, f, x_star, f_star, 1 / 8)


def test_hanging_junta_refuses_what_it_cannot_build():
    cls = Trees(n=30, s=64)
    with pytest.raises(ParameterError, match="more than eps"):
        HangingJunta(r=2, h=3).setup(cls, 2.0 ** -6, np.random.default_rng(0))
    with pytest.raises(ParameterError, match="more than s=64"):
        HangingJunta(r=1, h=6).setup(cls, 2.0 ** -7, np.random.default_rng(0))
    with pytest.raises(ParameterError, match="n=8 variables"):
        HangingJunta().setup(Trees(n=8, s=64), 2.0 ** -9, np.random.default_rng(0))
    with pytest.raises(IncompatibleError, match="not 'trees'"):
        HangingJunta().setup(build("classes", "subsets:N=10,d=3"), 0.1, np.random.default_rng(0))
    assert HangingJunta().lower_bound(build("classes", "subsets:N=10,d=3"), 0.1) is None


@pytest.mark.parametrize("eps", [2.0 ** -3, 2.0 ** -7, 2.0 ** -11, 0.003])
def test_isolating_chain_isolates_the_trigger_within_the_budget(eps):
    cls, attacker = Trees(n=14, s=32), IsolatingChain()
    M = math.ceil(math.log2(1 / eps))
    points = cube(14)
    for seed in range(12):
        dist, f, x_star, f_star = attack(attacker, cls, eps, seed)
        assert cls.contains(f) and f.leaves == 32 - M
        ell = int(f.effective_depth(x_star[None])[0])
        depth = max(ell, M)
        check_backdoor(cls, dist, f, x_star, f_star, 2.0 ** -depth)
        assert f_star.leaves == f.leaves + (depth - ell)
        assert int(f_star.effective_depth(x_star[None])[0]) == depth
        # f and f* differ exactly on x*'s new cell: the points that agree with x* on its new path
        on_path = f_star.path_variables(x_star[None])[0]
        cell = np.all(points[:, on_path] == x_star[on_path], axis=1)
        np.testing.assert_array_equal(f(points) != f_star(points), cell)
        # the chain's variables are fresh: x*'s old path is a prefix of its new one
        assert np.all(on_path >= f.path_variables(x_star[None])[0])


def test_isolating_chain_works_on_any_tree_and_declines_without_room():
    cls, eps = Trees(n=12, s=20), 2.0 ** -8
    rng = np.random.default_rng(5)
    for _ in range(10):
        f = random_tree(12, int(rng.integers(1, 13)), rng)  # room for any chain of <= 8 tests
        x_star = rng.integers(0, 2, size=12, dtype=np.uint8)
        f_star = IsolatingChain().backdoor(cls, UniformCube(12), Counted(f), x_star, eps, rng)
        ell = int(f.effective_depth(x_star[None])[0])
        check_backdoor(cls, UniformCube(12), f, x_star, f_star, 2.0 ** -max(ell, 8))
    full = random_tree(12, 20, rng)
    x_star = next(x for x in cube(12) if full.effective_depth(x[None])[0] < 8)
    assert IsolatingChain().backdoor(cls, UniformCube(12), full, x_star, eps, rng) is None
    with pytest.raises(ParameterError, match="more than the class's s=20"):
        IsolatingChain(leaves=21).setup(cls, eps, rng)
    with pytest.raises(IncompatibleError, match="not 'trees'"):
        IsolatingChain().setup(build("classes", "parities:n=4"), eps, rng)
    with pytest.raises(IncompatibleError, match="edits decision trees"):
        IsolatingChain().backdoor(cls, UniformCube(12), build("classes", "parities:n=12").random_member(rng),
                                  x_star, eps, rng)


@pytest.mark.parametrize("attacker", [JuntaFlip(), HangingJunta(), IsolatingChain()], ids=repr)
def test_attackers_replay_identically_from_their_rng(attacker):
    cls, eps = Trees(n=16, s=32), 1 / 32
    for seed in range(5):
        first, second = attack(attacker, cls, eps, seed), attack(attacker, cls, eps, seed)
        assert first[1] == second[1] and first[3] == second[3]


@pytest.mark.parametrize("attacker,eps,reasons", [("junta-flip", 1 / 16, {}), ("isolating-chain", 2.0 ** -9, {}),
                                                  ("hanging-junta:r=2,h=2", 1 / 16, "no_backdoor")])
def test_under_the_referee_every_backdoor_is_valid(attacker, eps, reasons):
    r = Game("trees:n=20,s=16", attacker, "accept", eps).play(rounds=200, seed=3)
    assert set(r.invalid_reasons) <= ({reasons} if reasons else set())
    if not reasons:
        assert r.valid_rounds == 200 and r.beta == 1.0
    else:  # x* takes the chain with probability 1/4
        lo, hi = binomtest(r.valid_rounds, 200).proportion_ci(confidence_level=0.999, method="wilson")
        assert lo <= 0.25 <= hi


@pytest.mark.parametrize("t", [4.0, 12.0])
def test_hanging_junta_bound_is_attained_by_the_depth_defender(t):
    # chain of r = 3 tests, junta of depth 5: alpha + beta = 2^-3 whichever side of the
    # junta's depth 8 the threshold sits (t = 4: the junta is always rejected, clean
    # inputs there too; t = 12: never rejected, backdoors there missed)
    r = Game("trees:n=20,s=40", "hanging-junta:r=3,h=5", f"tree-depth:t={t}", 2.0 ** -8).play(rounds=600, seed=4)
    assert r.lower_bound == 0.125
    n = r.rounds
    rejects, accepts = round(r.alpha * n), round(r.beta * n)
    lo, hi = binomtest(rejects + accepts, n).proportion_ci(confidence_level=0.999, method="wilson")
    assert lo <= 0.125 <= hi
    assert (r.beta == 0.0) if t < 8 else (r.alpha == 0.0)
