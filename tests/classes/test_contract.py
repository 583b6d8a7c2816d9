"""The FunctionClass contract, checked on every class of the library."""

from __future__ import annotations

import numpy as np
import pytest
from class_contract import check_evaluates, check_realises_shattered_set

from defendability.classes import (
    Circuits,
    Conjunctions,
    Counted,
    Halfspaces,
    Intervals,
    Parities,
    Subsets,
    Table,
    Thresholds,
    Trees,
    unwrap,
)
from defendability.classes.base import FunctionClass
from defendability.errors import ParameterError
from defendability.registry import build, names, parameters, summary

CLASSES = {
    "subsets": Subsets(N=12, d=4),
    "subsets-large": Subsets(N=64, d=16),
    "parities": Parities(n=5),
    "parities-large": Parities(n=24),
    "intervals": Intervals(k=3),
    "thresholds": Thresholds(),
    "conjunctions": Conjunctions(n=6),
    "conjunctions-1": Conjunctions(n=1),
    "halfspaces": Halfspaces(d=4),
    "halfspaces-large": Halfspaces(d=12),
    "table": Table(N=8, size=40, seed=3),
    "trees": Trees(n=8, s=6),
    "circuits": Circuits(n=7, max_gates=100),
}
OURS = ["subsets", "parities", "intervals", "thresholds", "conjunctions", "halfspaces", "table", "trees", "circuits"]


@pytest.fixture(params=list(CLASSES), ids=list(CLASSES))
def cls(request) -> FunctionClass:
    return CLASSES[request.param]


def test_registered_with_documented_parameters():
    for name in OURS:
        assert name in names("classes")
        component = type(build("classes", name))
        assert summary(component), name
        for p in parameters(component):
            assert p.annotation in ("int", "float", "bool", "str"), (name, p)
            assert p.default is not None, (name, p)


def test_spec_builds_the_documented_instance():
    c = build("classes", "subsets:N=20,d=5")
    assert (c.N, c.d, c.vc_dimension) == (20, 5, 5)
    assert repr(c) == "subsets:N=20,d=5"
    assert build("classes", "intervals:k=3").vc_dimension == 6
    assert build("classes", "halfspaces:d=3").vc_dimension == 4


def test_members_evaluate_to_uint8(cls):
    rng = np.random.default_rng(0)
    for _ in range(5):
        check_evaluates(cls, cls.random_member(rng), rng)


def test_random_members_are_contained(cls):
    rng = np.random.default_rng(1)
    for _ in range(20):
        f = cls.random_member(rng)
        assert cls.contains(f)
        # the defender's counted view is the same member
        assert cls.contains(Counted(f)) and unwrap(Counted(f)) is f


def test_realise_every_labelling_of_the_shattered_set(cls):
    checked = check_realises_shattered_set(cls, np.random.default_rng(2))
    assert checked >= min(2 ** cls.vc_dimension, 66)


def test_shattered_points_lie_in_the_default_distribution(cls):
    """The L1/L2 attackers put mass on the shattered set: its points must be points of
    the default distribution's space (same shape and dtype kind)."""
    T = cls.shattered_set()
    sample = cls.default_distribution().sample(np.random.default_rng(3), 4)
    assert T.shape[1:] == sample.shape[1:]
    assert T.dtype.kind == sample.dtype.kind or {T.dtype.kind, sample.dtype.kind} <= {"i", "u"}


def test_contains_rejects_members_of_other_classes(cls):
    rng = np.random.default_rng(4)
    others = [(name, other) for name, other in CLASSES.items() if type(other) is not type(cls)]
    assert others
    for other_name, other in others:
        assert not cls.contains(other.random_member(rng)), (cls, other_name)


def test_equality_follows_the_representation(cls):
    rng = np.random.default_rng(5)
    f = cls.random_member(rng)
    T = cls.shattered_set()
    same = cls.realise(T, f(T))
    again = cls.realise(T, f(T))
    assert same == again and hash(same) == hash(again)
    flipped = cls.realise(T, 1 - f(T))
    assert same != flipped


def test_describe_names_the_class(cls):
    info = cls.describe()
    assert info["name"] == cls.name
    assert repr(cls).startswith(cls.name)


@pytest.mark.parametrize("spec, fragment", [
    ("subsets:N=0", "N"), ("subsets:N=5,d=6", "d"), ("subsets:d=0", "d"),
    ("parities:n=0", "n"), ("intervals:k=0", "k"), ("conjunctions:n=0", "n"),
    ("halfspaces:d=0", "d"), ("table:N=0", "N"), ("table:N=17", "N"),
    ("table:N=3,size=9", "size"), ("table:size=0", "size"), ("table:seed=-1", "seed"),
])
def test_bad_parameters_raise_a_named_parameter_error(spec, fragment):
    with pytest.raises(ParameterError) as err:
        build("classes", spec)
    message = str(err.value)
    assert f"{fragment}=" in message and "\n" not in message
