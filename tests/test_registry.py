"""SPEC parsing and building, with the errors users see."""

from __future__ import annotations

import subprocess
import sys

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


# -- nested SPECs ----------------------------------------------------------------------
@pytest.mark.parametrize("spec,parsed", [
    ("vote:learner=[estimator:model=knn,seed=1],voters=11",
     ("vote", {"learner": "estimator:model=knn,seed=1", "voters": 11})),
    ("vote:learner=estimator:model=knn,voters=11", ("vote", {"learner": "estimator:model=knn", "voters": 11})),
    ("worst-case:base=[worst-case:base=[mixture],trials=3],trials=2",
     ("worst-case", {"base": "worst-case:base=[mixture],trials=3", "trials": 2})),
    ("vote:learner=[span]", ("vote", {"learner": "span"})),
    ("x:s=[a,b]", ("x", {"s": "a,b"})),
])
def test_parse_nested_specs(spec, parsed):
    assert registry.parse_spec(spec) == parsed


@pytest.mark.parametrize("spec,match", [
    ("vote:learner=[closure", "unbalanced brackets"), ("vote:learner=closure]", "unbalanced brackets"),
    ("vote:learner=x[closure]", "wholly inside one pair of brackets"), ("vote:learner=[]", "empty"),
    ("vote:learner=[a]b", "wholly inside"), ("vo[te", "not a component name"),
])
def test_bad_brackets_are_one_line_errors(spec, match):
    with pytest.raises(SpecError, match=match) as err:
        registry.parse_spec(spec)
    assert "\n" not in str(err.value)


def test_a_nested_spec_with_several_parameters_builds_and_round_trips():
    vote = registry.build("defenders", "vote:learner=[estimator:model=tree,seed=1],voters=11")
    assert (vote.learner.model, vote.learner.seed, vote.voters) == ("tree", 1, 11)
    assert repr(vote) == "vote:learner=[estimator:model=tree,seed=1],voters=11"
    assert repr(registry.build("defenders", repr(vote))) == repr(vote)
    deep = registry.build("attackers", "worst-case:base=[worst-case:base=shatter,trials=3],trials=2")
    assert repr(deep) == "worst-case:base=[worst-case:base=shatter,trials=3],trials=2"
    assert repr(deep.base.base) == "shatter"


@pytest.mark.parametrize("value,text", [(True, "true"), (3, "3"), (0.1, "0.1"), (1e-3, "0.001"), ("span", "span"),
                                        ("a,b", "[a,b]"), ("3", "[3]"), ("true", "[true]")])
def test_format_value_reads_back_as_the_same_value(value, text):
    assert registry.format_value(value) == text
    assert registry.parse_spec(f"x:v={text}")[1]["v"] in (value, str(value))


# -- SPECs from the signature ------------------------------------------------------------
def test_repr_shows_the_parameters_changed_from_their_defaults():
    assert repr(registry.build("defenders", "boltzmann")) == "boltzmann"
    assert repr(registry.build("defenders", "boltzmann:lam=2,cover=10")) == "boltzmann:lam=2.0,cover=10"
    assert repr(registry.build("attackers", "worst-case:base=mixture,trials=16")) == "worst-case"
    assert repr(registry.build("attackers", "worst-case:base=shatter")) == "worst-case:base=shatter"
    assert repr(registry.build("learners", "estimator:model=knn,seed=0")) == "estimator"


def test_class_reprs_keep_every_parameter():
    assert repr(registry.build("classes", "subsets")) == "subsets:N=64,d=16"
    assert repr(registry.build("classes", "keyed-hash:n=8")) == "keyed-hash:n=8,keys=0,salt=0"
    assert repr(registry.build("classes", "thresholds")) == "thresholds"


# -- lazy loading ----------------------------------------------------------------------
def _fresh_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_importing_the_package_imports_no_component_and_no_numerical_library():
    loaded = _fresh_python("import sys, defendability; print(' '.join(sorted(sys.modules)))").split()
    heavy = [m for m in loaded if m.split(".")[0] in ("numpy", "scipy", "sklearn", "cryptography")
             or m.startswith(("defendability.game", "defendability.classes.", "defendability.attackers.",
                              "defendability.defenders.", "defendability.learners."))]
    assert heavy == []


def test_a_lookup_imports_only_the_module_that_registers_the_name():
    loaded = _fresh_python("import sys; from defendability import registry; registry.lookup('attackers', 'shatter');"
                           "print(' '.join(m for m in sys.modules if m.startswith('defendability.attackers.')))")
    assert loaded.split() == ["defendability.attackers.base", "defendability.attackers.shatter"]
    # a name registered next to another in the same module, and the package's re-exports
    assert registry.lookup("defenders", "pool-vote").__name__ == "PoolVote"
    from defendability.defenders import Vote
    assert registry.lookup("defenders", "vote") is Vote


def test_a_name_the_scan_misses_is_found_by_importing_every_module(monkeypatch):
    monkeypatch.setitem(registry._TABLE, "learners", {})  # as if no @register line could be read
    assert registry.lookup("learners", "span").name == "span"
    with pytest.raises(SpecError, match="unknown learner 'spam'; valid: closure, erm"):
        registry.lookup("learners", "spam")
