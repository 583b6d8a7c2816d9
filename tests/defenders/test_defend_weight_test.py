"""The weight-test defender: a static test of an RFF model's frequencies against the clean
sampler's law N(0, 1), run without the key (THEORY.md §6.2; docs/static-detection.md)."""

from __future__ import annotations

import numpy as np
import pytest

import defendability.attackers.rff_clwe  # noqa: F401  (registers rff-clwe)
import defendability.defenders.weight_test  # noqa: F401  (registers weight-test)
from defendability import play, stats
from defendability.classes.base import Counted
from defendability.classes.classifiers import Classifiers, RFFModel
from defendability.classes.halfspaces import Halfspaces
from defendability.defenders.weight_test import WeightTest
from defendability.errors import IncompatibleError, ParameterError
from defendability.registry import build
from defendability.spaces import Sampler
from defendability.static import WEIGHT_TESTS

#: Confidence of the intervals the rates are checked against.
LEVEL = 0.999

#: The tests whose null law is derived and exact (the top eigenvalue's is cited, approximate).
EXACT = ("coordinate-ks", "norm-ks", "energy", "diagonal")


@pytest.fixture(scope="module")
def cls():
    return Classifiers(data="gaussian", d=8, train=50, test=50)


def _rff(weights: np.ndarray) -> RFFModel:
    m = len(weights)
    return RFFModel(weights, np.zeros(m), np.ones(m), 0.02)


def _fit(cls, g, seed=0, **params):
    counted, sampler = Counted(g), Sampler(cls.default_distribution(), np.random.default_rng(seed))
    detector = WeightTest(**params).fit(cls, counted, sampler, 0.1, np.random.default_rng(seed + 1))
    return detector, counted, sampler


def test_parameters_are_validated():
    with pytest.raises(ParameterError, match="test must be one of"):
        WeightTest(test="spectral")
    for bad in (0, 1, -0.1, 1.5, float("nan"), True, "0.01"):
        with pytest.raises(ParameterError, match="alpha_level"):
            WeightTest(alpha_level=bad)
    assert repr(build("defenders", "weight-test:test=energy,alpha_level=0.05")) == \
        "weight-test:test=energy,alpha_level=0.05"
    assert repr(WeightTest()) == "weight-test"


def test_refuses_members_and_classes_without_weights(cls):
    linear = Classifiers(data="gaussian", d=8, train=50, test=50).trained(0)
    with pytest.raises(IncompatibleError, match="TrainedClassifier has no first-layer weights"):
        _fit(cls, linear)
    with pytest.raises(IncompatibleError, match="weight-test: needs trained classifiers"):
        WeightTest().check_class(Halfspaces(3))


@pytest.mark.parametrize("name", list(WEIGHT_TESTS))
def test_scores_the_model_not_the_input_and_evaluates_nothing(cls, name):
    weights = np.random.default_rng(3).standard_normal((200, 8))
    evidence = WEIGHT_TESTS[name](weights)
    detector, counted, sampler = _fit(cls, _rff(weights), test=name)
    x = np.random.default_rng(4).standard_normal((7, 8))
    scores, decisions = detector.score_and_decide(x)
    np.testing.assert_array_equal(scores, np.full(7, 1.0 - evidence.p_value))
    assert decisions.dtype == bool and decisions.shape == (7,) and len(set(decisions.tolist())) == 1
    assert counted.evaluations == 0 and sampler.drawn == 0
    # REJECT iff p <= alpha_level, at the boundary included
    at, _, _ = _fit(cls, _rff(weights), test=name, alpha_level=min(max(evidence.p_value, 1e-12), 0.999))
    assert at.decide(x).all() == (evidence.p_value <= min(max(evidence.p_value, 1e-12), 0.999))
    below, _, _ = _fit(cls, _rff(weights), test=name, alpha_level=max(evidence.p_value / 2, 1e-12))
    assert not below.decide(x).any() or evidence.p_value <= 1e-12


@pytest.mark.parametrize("name", EXACT)
def test_clean_weights_are_rejected_at_rate_alpha_level(cls, name):
    # the tests' null is exact: P(REJECT) = alpha_level for clean N(0, 1) weights
    rng, trials, alpha_level = np.random.default_rng(515), 400, 0.05
    x = np.zeros((1, 8))
    rejected = sum(bool(_fit(cls, _rff(rng.standard_normal((120, 8))), test=name,
                             alpha_level=alpha_level)[0].decide(x)[0]) for _ in range(trials))
    lo, hi = stats.wilson(rejected, trials, LEVEL)
    assert lo <= alpha_level <= hi, (name, rejected)


@pytest.mark.parametrize("name", ["norm-ks", "energy", "diagonal", "top-eigenvalue", "coordinate-ks"])
def test_weights_off_the_clean_law_are_rejected(cls, name):
    # control: frequencies of standard deviation 1.3 instead of 1 (every row norm, every
    # coordinate variance and the whole spectrum are 1.69 times too large)
    weights = 1.3 * np.random.default_rng(516).standard_normal((400, 8))
    detector, _, _ = _fit(cls, _rff(weights), test=name)
    assert detector.evidence.p_value < 1e-3 and detector.decide(np.zeros((1, 8)))[0]


def test_in_the_static_game_alpha_holds_and_nothing_is_evaluated():
    result = play("classifiers:data=gaussian,d=8,train=200,test=200", "rff-clwe:features=100",
                  "weight-test:test=energy,alpha_level=0.2", eps=0.3, rounds=30, seed=7, mode="static")
    # static mode still asks the planted backdoor to work on a hidden activated input:
    # the rounds where the far trigger happens to leave f*'s label alone are no_flip
    assert result.valid_rounds >= 15 and set(result.invalid_reasons) <= {"no_flip"} and result.mode == "static"
    assert result.cost["evaluations_per_decision"] == 0
    # alpha: P(REJECT | clean RFF) = 0.2 exactly under the energy test's derived null
    lo, hi = stats.wilson(round(result.alpha * 30), 30, LEVEL)
    assert lo <= 0.2 <= hi
    assert result.guarantee == {"alpha": 0.2, "beta": 1.0}
