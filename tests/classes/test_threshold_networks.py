"""The threshold-networks class: contract, membership, exact distance, the cheapest flip,
memorising ERM, and a game played on it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from class_contract import (
    check_evaluates,
    check_realises_shattered_set,
    support_distance,
)

from defendability.circuits.random import random_circuit
from defendability.circuits.threshold import ThresholdNetwork, compile_threshold
from defendability.classes import Counted, unwrap
from defendability.classes.circuits import dnf_circuit
from defendability.classes.threshold_networks import (
    ThresholdNetworkFunction,
    ThresholdNetworks,
    flip_at,
    point_detectors,
)
from defendability.errors import ParameterError
from defendability.game import Game
from defendability.registry import build, parameters, summary
from defendability.spaces import FiniteDistribution, UniformCube


def cube(n: int) -> np.ndarray:
    codes = np.arange(1 << n, dtype=np.int64)
    return ((codes[:, None] >> np.arange(n)) & 1).astype(np.uint8)


def test_registered_with_documented_parameters():
    cls = build("classes", "threshold-networks:n=8,max_units=50")
    assert isinstance(cls, ThresholdNetworks) and (cls.n, cls.max_units) == (8, 50)
    assert repr(cls) == "threshold-networks:n=8,max_units=50"
    assert summary(ThresholdNetworks)
    for p in parameters(ThresholdNetworks):
        assert p.annotation in ("int", "float", "bool", "str") and p.default is not None
    for bad, message in (("n=0", "n must be in"), ("max_units=2", "max_units must be >= 3")):
        with pytest.raises(ParameterError, match=message):
            build("classes", f"threshold-networks:{bad}")


@pytest.mark.parametrize("n, max_units, d", [(8, 10, 9), (3, 100, 8), (32, 60, 59)])
def test_shattered_set_is_realised_and_gives_the_vc_dimension(n, max_units, d):
    cls = ThresholdNetworks(n=n, max_units=max_units)
    assert cls.vc_dimension == d
    T = cls.shattered_set()
    assert T.shape == (d, n) and len(np.unique(T, axis=0)) == d
    check_realises_shattered_set(cls, np.random.default_rng(0))
    # the realisation's size does not depend on the labelling
    sizes = {cls.realise(T, labels).network.n_units for labels in (np.zeros(d), np.ones(d), np.arange(d) % 2)}
    assert sizes == {d + 1}


def test_point_detectors_are_the_compiled_dnf():
    rng = np.random.default_rng(1)
    points = np.unique(rng.integers(0, 2, (9, 7)).astype(np.uint8), axis=0)
    direct = point_detectors(7, points, np.ones(len(points)))
    compiled = compile_threshold(dnf_circuit(7, points))
    np.testing.assert_array_equal(direct.evaluate(cube(7)), compiled.evaluate(cube(7)))
    assert direct.n_units == compiled.n_units == len(points) + 1
    labels = rng.integers(0, 2, len(points))
    got = point_detectors(7, points, labels).evaluate(cube(7))[:, 0]
    expected = np.zeros(1 << 7, dtype=np.uint8)
    expected[(points.astype(np.int64) << np.arange(7)).sum(axis=1)] = labels
    np.testing.assert_array_equal(got, expected)
    assert point_detectors(7, points[:0], labels[:0]).evaluate(cube(7)).sum() == 0


def test_realise_errors():
    cls = ThresholdNetworks(n=4, max_units=5)
    with pytest.raises(ParameterError, match="labelled both 0 and 1"):
        cls.realise(np.array([[0, 1, 0, 1], [0, 1, 0, 1]]), np.array([0, 1]))
    with pytest.raises(ParameterError, match="needs 6 units, more than max_units=5"):
        cls.realise(cube(4)[:5], np.ones(5))
    f = cls.realise(np.array([[0, 1, 0, 1], [0, 1, 0, 1]]), np.array([1, 1]))  # duplicates agree
    assert f.network.n_units == 2


def test_random_members_are_contained_and_evaluate():
    rng = np.random.default_rng(2)
    for cls in (ThresholdNetworks(n=10), ThresholdNetworks(n=32, max_units=9)):
        for _ in range(5):
            f = cls.random_member(rng)
            assert cls.contains(f) and cls.contains(Counted(f)) and unwrap(Counted(f)) is f
            check_evaluates(cls, f, rng)
            x = cls.default_distribution().sample(rng, 50)
            np.testing.assert_array_equal(f.wire_values(x), f.network.wire_values(x))
    a = ThresholdNetworks(n=10).random_member(np.random.default_rng(3))
    assert a == ThresholdNetworks(n=10).random_member(np.random.default_rng(3))
    assert a != ThresholdNetworks(n=10).random_member(np.random.default_rng(4))


def test_contains_checks_type_shape_and_size():
    rng = np.random.default_rng(5)
    cls = ThresholdNetworks(n=6, max_units=40)
    f = ThresholdNetworkFunction(compile_threshold(random_circuit(6, 10, rng)))
    assert cls.contains(f)

    class Sneaky(ThresholdNetworkFunction):
        def __call__(self, x):
            return 1 - super().__call__(x)

    assert not cls.contains(Sneaky(f.network))
    assert not ThresholdNetworks(n=7).contains(f)
    assert not cls.contains(ThresholdNetworkFunction(compile_threshold(random_circuit(6, 10, rng, n_outputs=2))))
    assert not cls.contains(ThresholdNetworkFunction(compile_threshold(random_circuit(6, 60, rng))))
    bad = ThresholdNetworkFunction(f.network)
    bad.network = "a network"
    assert not cls.contains(bad)
    with pytest.raises(ParameterError, match="needs a ThresholdNetwork"):
        ThresholdNetworkFunction("a network")


def test_exact_distance_is_the_count_over_the_cube():
    rng = np.random.default_rng(6)
    cls = ThresholdNetworks(n=9)
    dist = UniformCube(9)
    for _ in range(4):
        f, g = cls.random_member(rng), cls.random_member(rng)
        assert cls.exact_distance(Counted(f), g, dist) == pytest.approx(support_distance(f, g, dist), abs=0)
        assert cls.exact_distance(f, f, dist) == 0.0
    assert cls.exact_distance(f, g, UniformCube(8)) is None
    assert ThresholdNetworks(n=21).exact_distance(f, g, UniformCube(21)) is None
    assert cls.exact_distance(f, "not a member", dist) is None


def test_cheapest_flip_differs_at_the_point_only():
    rng = np.random.default_rng(7)
    cls = ThresholdNetworks(n=8, max_units=200)
    points = cube(8)
    skewed = FiniteDistribution(points[rng.permutation(256)[:20]], rng.dirichlet(np.ones(20)))
    for _ in range(6):
        f = cls.random_member(rng)
        x = points[rng.integers(256)]
        for dist in (UniformCube(8), skewed):
            g = cls.cheapest_flip(Counted(f), x, dist)
            assert cls.contains(g)
            differ = f(points) != g(points)
            np.testing.assert_array_equal(np.flatnonzero(differ), [(x.astype(np.int64) << np.arange(8)).sum()])
        assert cls.exact_distance(f, g, UniformCube(8)) == 2 ** -8
    full = ThresholdNetworks(n=8, max_units=f.network.n_units + 2)
    assert full.cheapest_flip(f, x, UniformCube(8)) is None
    with pytest.raises(ParameterError, match="must be"):
        flip_at(f.network, np.array([0, 1, 2, 0, 0, 0, 0, 0]))


def test_fit_member_memorises_with_majority_labels():
    rng = np.random.default_rng(8)
    cls = ThresholdNetworks(n=12)
    X = rng.integers(0, 2, (60, 12)).astype(np.uint8)
    Y = rng.integers(0, 2, 60).astype(np.uint8)
    f = cls.fit_member(X, Y)
    assert cls.contains(f)
    np.testing.assert_array_equal(f(X), Y)
    # one point seen three times, labelled 1, 1, 0: its majority label is 1
    X2 = np.vstack([X[:1], X[:1], X[:1]])
    assert cls.fit_member(X2, np.array([1, 1, 0]))(X[:1])[0] == 1
    assert cls.fit_member(X2, np.array([0, 1, 0]))(X[:1])[0] == 0
    with pytest.raises(ParameterError, match="more than max_units=10"):
        ThresholdNetworks(n=12, max_units=10).fit_member(X, Y)


def test_a_game_on_threshold_networks():
    cls = ThresholdNetworks(n=10, max_units=400)
    result = Game(cls, "point-flip", "accept", eps=2 ** -10).play(rounds=20, seed=0)
    # every backdoor is valid (a member, flips x*, at exact distance 2^-10), and the
    # accepting defender misses all of them
    assert result.valid_rounds == 20 and result.beta == 1.0 and result.alpha == 0.0
    assert math.isclose(cls.vc_dimension, 399)


def test_network_functions_check_their_inputs():
    f = ThresholdNetworks(n=4).random_member(np.random.default_rng(9))
    with pytest.raises(ValueError):
        f(np.zeros((2, 5), dtype=np.uint8))
    assert f(np.zeros((0, 4), dtype=np.uint8)).shape == (0,)
    assert "units=" in repr(f)
    assert isinstance(f.network, ThresholdNetwork)


def test_an_instance_evaluate_on_the_network_is_not_a_member():
    """The network of f with the evaluation of its flip at x bound on the instance."""
    rng = np.random.default_rng(31)
    cls = ThresholdNetworks(n=10, max_units=10_000)
    f = cls.random_member(rng)
    x = rng.integers(0, 2, size=10).astype(np.uint8)
    flipped = flip_at(f.network, x)
    g = ThresholdNetworkFunction(ThresholdNetwork(10, f.network.indptr, f.network.indices, f.network.weights,
                                                  f.network.thresholds, f.network.layer_starts, f.network.outputs))
    object.__setattr__(g.network, "evaluate", flipped.evaluate)
    assert g(x[None])[0] != f(x[None])[0]  # the object computes the flip, its weights say f
    assert not cls.contains(g) and not cls.contains(Counted(g))
    h = cls.random_member(rng)
    object.__setattr__(h.network, "_values", flipped._values)
    assert not cls.contains(h)


def _edit(network: ThresholdNetwork, name: str, edit) -> None:
    """Turn a read-only array's write flag back on, edit it, and turn it off again."""
    array = getattr(network, name)
    array.setflags(write=True)
    edit(array)
    array.setflags(write=False)


def test_network_arrays_edited_after_construction_are_checked_again():
    rng = np.random.default_rng(32)
    cls = ThresholdNetworks(n=8, max_units=1000)
    f = cls.random_member(rng)
    f.network.thresholds.setflags(write=True)
    assert not cls.contains(f)  # writable: not as the constructor left it
    f.network.thresholds.setflags(write=False)
    assert cls.contains(f)
    _edit(f.network, "thresholds", lambda t: t.__setitem__(0, t[0] + 1))  # a valid network, another one
    assert cls.contains(f)
    x = cube(8)
    rebuilt = cls.rebuild(f)
    assert rebuilt == f and rebuilt.network is not f.network
    np.testing.assert_array_equal(rebuilt(x), f(x))
    late = f.network.n_inputs + int(f.network.layer_starts[-2])  # a unit of the last layer
    _edit(f.network, "indices", lambda i: i.__setitem__(0, late))  # unit 0 reads a later unit
    assert not cls.contains(f)
    g = cls.random_member(rng)
    _edit(g.network, "weights", lambda w: w.__setitem__(0, 0))  # not the constructor's canonical form
    assert not cls.contains(g)
    h = cls.random_member(rng)
    _edit(h.network, "outputs", lambda o: o.__setitem__(0, h.network.n_units))  # no such unit
    assert not cls.contains(h)
    k = cls.random_member(rng)
    object.__setattr__(k.network, "weights", k.network.weights.astype(np.int32))
    assert not cls.contains(k)


def test_rebuild_copies_the_arrays():
    cls = ThresholdNetworks(n=8, max_units=1000)
    f = cls.random_member(np.random.default_rng(33))
    g = cls.rebuild(Counted(f))
    assert type(g) is ThresholdNetworkFunction and g == f and cls.contains(g) and g.network is not f.network
    for name in ("indptr", "indices", "weights", "thresholds", "layer_starts", "outputs"):
        assert not np.shares_memory(getattr(g.network, name), getattr(f.network, name))
