"""Membership cannot be fooled: ``contains`` accepts only the exact member type, whose
evaluation agrees with its representation (no tampered cache, no subclass)."""

from __future__ import annotations

import numpy as np
import pytest

from defendability.classes import (
    ConjunctionFunction,
    Conjunctions,
    Counted,
    HalfspaceFunction,
    Halfspaces,
    HashFunction,
    Intervals,
    IntervalUnion,
    KeyedHash,
    Parities,
    ParityFunction,
    SubsetFunction,
    Subsets,
    Table,
    TableFunction,
    ThresholdFunction,
    Thresholds,
)
from defendability.errors import ParameterError

CLASSES = {
    "subsets": Subsets(N=12, d=4),
    "parities": Parities(n=6),
    "conjunctions": Conjunctions(n=5),
    "halfspaces": Halfspaces(d=3),
    "intervals": Intervals(k=2),
    "thresholds": Thresholds(),
    "table": Table(N=6, size=20, seed=1),
    "keyed-hash": KeyedHash(n=8, keys=16),
}


def _member(name: str, seed: int = 0):
    cls = CLASSES[name]
    return cls, cls.random_member(np.random.default_rng(seed))


@pytest.mark.parametrize("name", list(CLASSES))
def test_members_and_their_counted_views_are_contained(name):
    cls, f = _member(name)
    assert cls.contains(f) and cls.contains(Counted(f))


@pytest.mark.parametrize("name", list(CLASSES))
def test_a_subclass_of_the_member_type_is_not_a_member(name):
    """A subclass can evaluate anything while carrying a member's representation."""
    cls, f = _member(name)

    class Inverted(type(f)):
        def __call__(self, x):
            return (1 - super().__call__(x)).astype(np.uint8)

    g = Inverted.__new__(Inverted)
    g.__dict__.update(vars(f))
    assert not cls.contains(g) and not cls.contains(Counted(g))


def test_subsets_tampered_mask_is_not_a_member():
    cls = Subsets(N=10, d=3)
    f = cls.member([1, 4])
    assert cls.contains(f)
    f._mask[7] ^= 1  # f now labels 7 as 1 while its elements say {1, 4}
    assert f(np.array([7]))[0] == 1
    assert not cls.contains(f) and not cls.contains(Counted(f))
    g = cls.member([1, 4])
    g._mask[4] ^= 1  # drops an element from the evaluation only
    assert not cls.contains(g)
    h = cls.member([2])
    h._mask = h._mask.astype(bool)  # another dtype evaluates differently
    assert not cls.contains(h)
    k = cls.member([2])
    k._mask = np.zeros(11, dtype=np.uint8)  # another length
    k._mask[2] = 1
    assert not cls.contains(k)
    e = cls.member([2])
    e.elements = e.elements.astype(np.float64)
    assert not cls.contains(e)


def test_parities_evaluation_reads_a_only():
    cls = Parities(n=4)
    f = ParityFunction([1, 0, 1, 0])
    x = np.array([[1, 0, 0, 0], [0, 1, 0, 0]], dtype=np.uint8)
    f.__dict__["_support"] = np.array([1])  # a stale cache, as the old class kept one
    np.testing.assert_array_equal(f(x), [1, 0])
    assert cls.contains(f)
    with pytest.raises(AttributeError):
        f.n = 5  # n is len(a), not a separate field
    f.a = f.a.astype(np.int64)
    assert not cls.contains(f)


def test_table_conjunction_halfspace_sizes_follow_the_representation():
    for f, attr in ((TableFunction([0, 1, 1]), "N"), (ConjunctionFunction([1, 0], [0, 0]), "n"),
                    (HalfspaceFunction([1.0, 2.0], 0.5), "d")):
        with pytest.raises(AttributeError):
            setattr(f, attr, 7)


@pytest.mark.parametrize("name, tamper", [
    ("conjunctions", lambda f: setattr(f, "pos", f.pos.astype(np.uint8))),
    ("conjunctions", lambda f: setattr(f, "neg", list(f.neg))),
    ("halfspaces", lambda f: setattr(f, "w", f.w.astype(np.float32))),
    ("halfspaces", lambda f: setattr(f, "b", np.array([f.b]))),
    ("intervals", lambda f: setattr(f, "bounds", f.bounds.astype(np.float32))),
    ("intervals", lambda f: setattr(f, "bounds", f.bounds[::-1].copy())),
    ("thresholds", lambda f: setattr(f, "theta", np.array([f.theta]))),
    ("table", lambda f: setattr(f, "row", f.row.astype(bool))),
    ("keyed-hash", lambda f: setattr(f, "key_index", float(f.key_index))),
    ("keyed-hash", lambda f: setattr(f, "salt", 1)),
])
def test_tampered_representations_are_not_members(name, tamper):
    cls, f = _member(name, seed=3)
    assert cls.contains(f)
    tamper(f)
    assert not cls.contains(f)


def test_keyed_hash_key_is_derived_not_cached():
    cls = KeyedHash(n=8, keys=16)
    f, g = HashFunction(3, 8, 0), HashFunction(4, 8, 0)
    x = np.random.default_rng(0).integers(0, 2, (64, 8), dtype=np.uint8)
    with pytest.raises(AttributeError):
        f._aes_key = g._aes_key
    f.__dict__["_aes_key"] = g._aes_key  # an instance entry cannot shadow the property,
    np.testing.assert_array_equal(f(x), HashFunction(3, 8, 0)(x))
    assert not cls.contains(f) and not cls.contains(Counted(f))  # but one named like it is refused
    del f.__dict__["_aes_key"]
    assert cls.contains(f) and cls.contains(Counted(f))
    assert not cls.contains(HashFunction(16, 8, 0)) and not cls.contains(HashFunction(3, 9, 0))


@pytest.mark.parametrize("name", ["subsets", "parities", "halfspaces", "conjunctions"])
def test_an_instance_attribute_hiding_a_method_is_not_a_member(name):
    cls, f = _member(name, seed=4)
    assert cls.contains(f)
    f.__dict__["__call__"] = lambda x: 1 - type(f).__call__(f, x)  # what a Python call of f.__call__ would find
    assert not cls.contains(f) and not cls.contains(Counted(f))


def test_interval_union_and_threshold_members():
    assert Intervals(k=2).contains(IntervalUnion([(0.1, 0.2), (0.5, 0.7)]))
    assert not Intervals(k=1).contains(IntervalUnion([(0.1, 0.2), (0.5, 0.7)]))
    assert Thresholds().contains(ThresholdFunction(np.inf))
    assert Subsets(N=5, d=2).contains(SubsetFunction(np.array([0, 4]), 5))


@pytest.mark.parametrize("build, fragment", [
    (lambda: Subsets(N=2 ** 26 + 1, d=1), "N="),
    (lambda: Halfspaces(d=4097), "d="),
    (lambda: Parities(n=4097), "n="),
    (lambda: Conjunctions(n=4097), "n="),
    (lambda: Intervals(k=10 ** 6 + 1), "k="),
])
def test_resource_guards(build, fragment):
    with pytest.raises(ParameterError) as err:
        build()
    message = str(err.value)
    assert fragment in message and "\n" not in message and "[1, " in message


def test_resource_guards_admit_their_limits():
    assert Subsets(N=2 ** 26, d=3).N == 2 ** 26
    assert Subsets(N=2 ** 26, d=3).members() is None  # stops counting at once
    assert Halfspaces(d=4096).d == 4096
    assert Parities(n=4096).n == 4096
    assert Conjunctions(n=4096).n == 4096
    assert Intervals(k=10 ** 6).k == 10 ** 6


@pytest.mark.parametrize("name", list(CLASSES))
def test_a_subclass_of_counted_is_not_unwrapped(name):
    """A Counted subclass could answer calls itself while wrapping a true member."""
    cls, f = _member(name)

    class Lying(Counted):
        def __call__(self, x):
            return (1 - self.function(x)).astype(np.uint8)

    assert cls.contains(Counted(f)) and not cls.contains(Lying(f))
