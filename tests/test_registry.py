"""SPEC parsing and building, with the errors users see."""

from __future__ import annotations

import pytest

from defendability import registry
from defendability.errors import ParameterError, SpecError


@pytest.mark.parametrize("text,value", [("3", 3), ("0.5", 0.5), ("true", True), ("False", False),
                                        ("1/4", 0.25), ("closure", "closure"), ("1e-3", 0.001)])
def test_parse_value(text, value):
    assert registry.parse_value(text) == value


def test_parse_spec():
    assert registry.parse_spec("subsets:N=64,d=16") == ("subsets", {"N": 64, "d": 16})
    assert registry.parse_spec("vote") == ("vote", {})
    assert registry.parse_spec(" vote : learner=span , voters=3 ") == ("vote", {"learner": "span", "voters": 3})


@pytest.mark.parametrize("spec,match", [("", "empty"), ("vote:learner", "not key=value"),
                                        ("vote:k=1,k=2", "twice"), ("vote:=3", "not key=value")])
def test_bad_specs(spec, match):
    with pytest.raises(SpecError, match=match):
        registry.parse_spec(spec)


def test_every_component_builds_with_defaults_and_has_a_description():
    for kind in registry.KINDS:
        assert registry.names(kind), kind
        for name in registry.names(kind):
            comp = registry.lookup(kind, name)
            assert registry.summary(comp), f"{kind}/{name} has no one-line description"
            registry.build(kind, name)


def test_unknown_name_lists_valid_choices():
    with pytest.raises(SpecError, match="unknown class 'subset'; valid: .*subsets"):
        registry.build("classes", "subset")


def test_unknown_parameter_lists_valid_ones():
    with pytest.raises(SpecError, match="unknown parameter 'M'; valid: N, d"):
        registry.build("classes", "subsets:M=3")


def test_wrong_type_is_refused():
    with pytest.raises(SpecError, match="N='big' should be int"):
        registry.build("classes", "subsets:N=big")


def test_out_of_range_value_names_the_parameter():
    with pytest.raises(ParameterError, match="subsets: .*d"):
        registry.build("classes", "subsets:N=4,d=10")


def test_objects_pass_through():
    obj = registry.build("classes", "parities:n=5")
    assert registry.build("classes", obj) is obj
