"""All four learners: registered, buildable from a SPEC, and batched with the same shapes."""

from __future__ import annotations

import numpy as np
import pytest

from defendability import Game, play, registry
from defendability.errors import IncompatibleError, ParameterError, SpecError
from defendability.experiments.config import ConfigError, parse_config
from defendability.learners import Closure, ERM, Learner, OneInclusion, Span
from defendability.learners.base import natural_learner

from toys_for_learners import Parities, SmallSubsets

LEARNERS = {"closure": Closure, "span": Span, "one-inclusion": OneInclusion, "erm": ERM}


def test_registered_under_their_names():
    assert set(LEARNERS) <= set(registry.names("learners"))
    for name, component in LEARNERS.items():
        assert registry.lookup("learners", name) is component
        assert issubclass(component, Learner)
        assert registry.summary(component)  # one line for `defendability list`
    assert registry.build("learners", "one-inclusion:cache_size=7").cache_size == 7
    with pytest.raises(SpecError, match="unknown parameter"):
        registry.build("learners", "span:n=3")


@pytest.mark.parametrize("name", ["closure", "one-inclusion", "erm"])
@pytest.mark.parametrize("V,k,Q", [(1, 0, 1), (5, 3, 4), (2, 9, 0)])
def test_finite_class_shapes(name, V, k, Q):
    cls = SmallSubsets(M=6, d=2)
    rng = np.random.default_rng(V + k + Q)
    X = rng.integers(0, 6, (V, k))
    Y = np.isin(X, [1, 4]).astype(np.uint8)  # labelled by the member {1, 4}
    queries = rng.integers(0, 6, Q)
    got = registry.build("learners", name).predict(cls, X, Y, queries)
    assert got.shape == (V, Q) and got.dtype == np.uint8
    # every learner reproduces a batch label at a point of the batch
    for v in range(V):
        for j, q in enumerate(queries):
            if q in X[v]:
                assert got[v, j] == Y[v][list(X[v]).index(q)]


@pytest.mark.parametrize("name", ["span", "one-inclusion"])
def test_bit_row_shapes(name):
    cls = Parities(3)
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, (4, 5, 3), dtype=np.uint8)
    Y = X[..., 0] ^ X[..., 2]
    got = registry.build("learners", name).predict(cls, X, Y, cls.all_vectors())
    assert got.shape == (4, 8) and got.dtype == np.uint8
    with pytest.raises(ValueError, match="queries must have shape"):
        registry.build("learners", name).predict(cls, X, Y, np.zeros((2, 4), np.uint8))


# -- the classes learners play on, and the natural learner -------------------------------
@pytest.mark.parametrize("learner,cls,plays", [
    ("closure", "subsets:N=8,d=2", True), ("closure", "parities:n=4", False),
    ("span", "parities:n=4", True), ("span", "subsets:N=8,d=2", False),
    ("one-inclusion", "subsets:N=8,d=2", True), ("one-inclusion", "keyed-hash:n=4", False),
    ("erm", "halfspaces:d=2", True), ("erm", "keyed-hash:n=4", False), ("erm", "keyed-hash:n=4,keys=4", True),
    ("estimator", "keyed-hash:n=4", True),
])
def test_learners_declare_the_classes_they_play_on(learner, cls, plays):
    check_class = registry.build("learners", learner).check_class
    if plays:
        check_class(registry.build("classes", cls))
    else:
        with pytest.raises(IncompatibleError):
            check_class(registry.build("classes", cls))


@pytest.mark.parametrize("cls,learner", [("subsets:N=8,d=2", "closure"), ("parities:n=4", "span"),
                                         ("intervals:k=2", "closure"), ("halfspaces:d=2", "erm"),
                                         ("trees:n=4,s=4", "erm"), ("keyed-hash:n=4", "estimator")])
def test_the_natural_learner_of_a_class(cls, learner):
    assert repr(natural_learner(registry.build("classes", cls))) == learner


@pytest.mark.parametrize("defender", ["vote", "distill", "pool-vote:voters=5"])
def test_the_vote_family_plays_the_natural_learner_and_says_so(defender):
    result = play("parities:n=6", "shatter", defender, eps=1 / 6, rounds=3, seed=0)
    name, params = registry.parse_spec(result.defender)
    assert params["learner"] == "span" and name == defender.split(":")[0]
    assert registry.parse_spec(repr(registry.build("defenders", defender)))[1].get("learner") is None


def test_an_impossible_learner_fails_before_any_round_and_in_a_sweep_config():
    with pytest.raises(IncompatibleError, match="'parities' is not intersection-closed"):
        Game("parities:n=6", "shatter", "vote:learner=closure", 0.1)
    with pytest.raises(ConfigError, match="not intersection-closed"):
        parse_config('name = "t"\nseed = 1\nrounds = 2\nclass = "parities:n=6"\nattacker = "shatter"\n'
                     'defender = "vote:learner=closure"\neps = 0.1\n', "t.toml")
    with pytest.raises(ParameterError, match="gives no PAC sample size"):  # eta mode needs a sample size
        Game("halfspaces:d=2", "point-flip", "vote:learner=erm,eta=0.1", 0.1)
