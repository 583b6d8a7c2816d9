"""PRF oracles (THEORY.md §5.3, oracle mode): membership, exact distances that recompute
the puncturing, refusals, and a key that stays out of sight."""

from __future__ import annotations

import numpy as np
import pytest
from class_contract import check_evaluates

from defendability.classes.base import Counted, unwrap
from defendability.classes.prf_oracles import PRFOracle, PRFOracles, PuncturedPRFOracle
from defendability.crypto.ggm import GGM, PuncturedKey
from defendability.errors import IncompatibleError, ParameterError
from defendability.registry import build
from defendability.spaces import FiniteDistribution, UniformCube

KEY = bytes(range(16))


def _flip(prf: GGM, x_star: np.ndarray, flip: bool = True) -> PuncturedPRFOracle:
    bit = int(prf.evaluate(x_star[None])[0])
    return PuncturedPRFOracle(prf.puncture(x_star), 1 - bit if flip else bit)


def test_spec_and_parameters():
    cls = build("classes", "prf-oracles:n=32")
    assert isinstance(cls, PRFOracles) and cls.n == 32 and repr(cls) == "prf-oracles:n=32"
    assert cls.point_shape == (32,)
    d = cls.default_distribution()
    assert isinstance(d, UniformCube) and d.n == 32
    assert cls.vc_dimension == 128 + 32
    for bad in (0, 2000, 1.5, True):
        with pytest.raises(ParameterError, match="n must"):
            PRFOracles(n=bad)


def test_members_evaluate_and_the_punctured_one_differs_only_at_the_point():
    rng = np.random.default_rng(0)
    cls = PRFOracles(n=10)
    f = cls.random_member(rng)
    check_evaluates(cls, f, rng)
    prf = f._prf
    cube = UniformCube(10).support()[0]
    x_star = cube[700]
    g = _flip(prf, x_star)
    check_evaluates(cls, g, rng)
    diff = np.flatnonzero(f(cube) != g(cube))
    assert diff.tolist() == [700]
    # the point itself inside a batch, on its own, and repeated
    assert g(np.stack([x_star, cube[3], x_star])).tolist() == [1 - f(x_star[None])[0], f(cube[3:4])[0],
                                                               1 - f(x_star[None])[0]]


def test_membership_is_exact_type_and_checks_n():
    cls = PRFOracles(n=12)
    prf = GGM(KEY, 12, "sha256")
    f, g = PRFOracle(prf), _flip(prf, np.zeros(12, np.uint8))
    assert cls.contains(f) and cls.contains(g) and cls.contains(Counted(f)) and cls.contains(Counted(g))
    assert not cls.contains(PRFOracle(GGM(KEY, 13)))
    assert not PRFOracles(n=13).contains(g)

    class Sneaky(PRFOracle):
        def __call__(self, x):
            return np.zeros(len(x), np.uint8)

    assert not cls.contains(Sneaky(prf))
    broken = PRFOracle(prf)
    broken._prf = "a key"
    assert not cls.contains(broken)
    bad_bit = _flip(prf, np.zeros(12, np.uint8))
    bad_bit._bit = 2
    assert not cls.contains(bad_bit)


def test_exact_distance_recomputes_the_puncturing():
    n = 12
    cls, cube = PRFOracles(n=n), UniformCube(n)
    prf = GGM(KEY, n, "aes")
    f = PRFOracle(prf)
    x_star = np.array([1, 0] * 6, dtype=np.uint8)
    f_star = _flip(prf, x_star)
    assert cls.exact_distance(f, f_star, cube) == 2.0 ** -n
    assert cls.exact_distance(Counted(f_star), Counted(f), cube) == 2.0 ** -n
    assert cls.exact_distance(f, PRFOracle(GGM(KEY, n, "aes")), cube) == 0.0
    assert cls.exact_distance(f, _flip(prf, x_star, flip=False), cube) == 0.0  # no flip: the same function
    assert cls.exact_distance(f_star, _flip(prf, x_star), cube) == 0.0
    assert cls.exact_distance(f_star, _flip(prf, x_star, flip=False), cube) == 2.0 ** -n
    # another key's puncturing, a forged sibling seed, another PRG: not this key's, no closed form
    other = GGM(bytes(16), n, "aes")
    assert cls.exact_distance(f, _flip(other, x_star), cube) is None
    honest = prf.puncture(x_star)
    seeds = honest.seeds.copy()
    seeds[4, 0] ^= 1
    forged = PuncturedPRFOracle(PuncturedKey(honest.prefixes, seeds, "aes"), f_star._bit)
    assert cls.exact_distance(f, forged, cube) is None
    assert cls.exact_distance(PRFOracle(GGM(KEY, n, "sha256")), f_star, cube) is None
    assert cls.exact_distance(f, PRFOracle(other), cube) is None
    # only under the uniform cube of this n
    assert cls.exact_distance(f, f_star, UniformCube(n + 1)) is None
    assert cls.exact_distance(f, f_star, FiniteDistribution(x_star[None], np.ones(1))) is None


def test_the_closed_form_is_the_true_distance():
    # n = 10: count the disagreements over the whole cube
    cls, cube = PRFOracles(n=10), UniformCube(10)
    points = cube.support()[0]
    prf = GGM(KEY, 10, "blake2b")
    f = PRFOracle(prf)
    for i in (0, 99, 1023):
        g = _flip(prf, points[i])
        assert cls.exact_distance(f, g, cube) == np.count_nonzero(f(points) != g(points)) / 1024


def test_refusals_are_clear():
    cls = PRFOracles(n=8)
    with pytest.raises(IncompatibleError, match="no shattered set"):
        cls.shattered_set()
    with pytest.raises(IncompatibleError, match="prescribed labels"):
        cls.realise(np.zeros((1, 8), np.uint8), np.zeros(1, np.uint8))
    assert cls.members() is None and cls.size() is None
    assert cls.cheapest_flip(cls.random_member(np.random.default_rng(0)), np.zeros(8, np.uint8),
                             UniformCube(8)) is None  # not enumerable: the attacker builds its flip


def test_random_members_differ_and_are_deterministic():
    cls = PRFOracles(n=16)
    a = cls.random_member(np.random.default_rng(5))
    assert a == cls.random_member(np.random.default_rng(5))
    assert a != cls.random_member(np.random.default_rng(6))
    assert cls.contains(a) and a.prg == "aes"


def test_no_key_in_repr_or_equality_key():
    prf = GGM(KEY, 16, "aes")
    x_star = np.ones(16, np.uint8)
    f, g = PRFOracle(prf), _flip(prf, x_star)
    for member in (f, g, Counted(f)):
        for text in (repr(member), str(member), repr(member.key())):
            assert KEY.hex() not in text and repr(KEY) not in text
            assert all(s.tobytes().hex() not in text for s in g._key.seeds)
    assert repr(f) == "PRFOracle(n=16, prg='aes')" and repr(g) == "PuncturedPRFOracle(n=16, prg='aes')"
    assert f == PRFOracle(GGM(KEY, 16, "aes")) and hash(f) == hash(PRFOracle(GGM(KEY, 16, "aes")))
    assert g == _flip(prf, x_star) and g != _flip(prf, x_star, flip=False)


def test_constructors_validate():
    with pytest.raises(ParameterError, match="GGM key"):
        PRFOracle(KEY)
    with pytest.raises(ParameterError, match="PuncturedKey"):
        PuncturedPRFOracle(GGM(KEY, 8), 1)
    with pytest.raises(ParameterError, match="0 or 1"):
        PuncturedPRFOracle(GGM(KEY, 8).puncture(np.zeros(8, np.uint8)), 2)


def test_a_key_object_with_an_instance_method_is_not_a_member():
    cls = PRFOracles(n=32)
    x = np.random.default_rng(0).integers(0, 2, (1000, 32)).astype(np.uint8)
    prf = GGM(KEY, 32)
    prf.evaluate = lambda z: np.zeros(len(z), dtype=np.uint8)  # the oracle now answers 0 everywhere
    f = PRFOracle(prf)
    assert f(x).sum() == 0
    assert not cls.contains(f) and not cls.contains(Counted(f))
    g = _flip(GGM(KEY, 32), np.zeros(32, np.uint8))
    assert cls.contains(g)
    g._key.evaluate = lambda z: np.ones(len(z), dtype=np.uint8)
    assert not cls.contains(g)
    h = _flip(GGM(KEY, 32), np.zeros(32, np.uint8))
    h._key.point = lambda: np.ones(32, np.uint8)
    assert not cls.contains(h)


def test_a_punctured_key_whose_fields_disagree_is_not_a_member():
    n = 12
    cls, prf = PRFOracles(n=n), GGM(KEY, n)
    x_star = np.zeros(n, np.uint8)
    other = x_star.copy()
    other[5] = 1
    other.setflags(write=False)
    g = _flip(prf, x_star)
    g._key._x_star = other  # evaluates as if punctured at `other`, its prefixes say x*
    assert not cls.contains(g)
    for field, value in (("seeds", g._key.seeds.astype(np.int64)), ("seeds", g._key.seeds.copy()),  # writable
                         ("prefixes", list(g._key.prefixes)), ("prefixes", g._key.prefixes[:-1]),
                         ("n", np.int64(n)), ("prg", "md5")):
        h = _flip(prf, x_star)
        assert cls.contains(h)
        setattr(h._key, field, value)
        assert not cls.contains(h), field
    bent = _flip(prf, x_star)
    prefix = bent._key.prefixes[3].copy()
    prefix[0] = 1  # prefix 3 no longer starts on x*'s path
    prefix.setflags(write=False)
    bent._key.prefixes = bent._key.prefixes[:3] + (prefix,) + bent._key.prefixes[4:]
    assert not cls.contains(bent)
    odd = PRFOracle(GGM(KEY, n))
    odd._prf.key = bytearray(KEY)
    assert not cls.contains(odd)


def test_rebuild_makes_fresh_keys_from_the_key_material():
    n = 12
    cls, prf = PRFOracles(n=n), GGM(KEY, n, "sha256")
    points = UniformCube(n).support()[0]
    f, g = PRFOracle(prf), _flip(prf, points[77])
    for member in (f, g, Counted(f), Counted(g)):
        rebuilt = cls.rebuild(member)
        original = unwrap(member)
        assert type(rebuilt) is type(original) and rebuilt == original and cls.contains(rebuilt)
        np.testing.assert_array_equal(rebuilt(points), original(points))
    rebuilt = cls.rebuild(g)
    assert rebuilt._key is not g._key and not np.shares_memory(rebuilt._key.seeds, g._key.seeds)
    assert cls.rebuild(f)._prf is not prf
