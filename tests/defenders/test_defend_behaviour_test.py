"""The behaviour-test defender: g's agreement rank among clean models the defender trains
itself (THEORY.md §6, static mode; docs/static-detection.md)."""

from __future__ import annotations

import numpy as np
import pytest

import defendability.defenders.behaviour_test  # noqa: F401  (registers behaviour-test)
from defendability import stats
from defendability.classes.base import Counted, Function
from defendability.classes.classifiers import Classifiers, RFFModel
from defendability.classes.halfspaces import Halfspaces
from defendability.defenders.behaviour_test import BehaviourTest
from defendability.errors import IncompatibleError, ParameterError
from defendability.models.rff import RFFClassifier
from defendability.spaces import Sampler

LEVEL = 0.999
RFF = {"model": "rff", "features": 40, "scale": 0.1}


@pytest.fixture(scope="module")
def cls():
    return Classifiers(data="gaussian", d=4, train=200, test=400)


def _clean(cls, seed):
    ds = cls.dataset
    return RFFModel.from_model(RFFClassifier(40, 0.1).fit(ds.X_train, ds.y_train, np.random.default_rng(seed)))


class Flipped(Function):
    """``base`` with its label flipped where x_0 exceeds ``cut`` (a crude backdoor that
    fires on natural inputs)."""

    def __init__(self, base, cut):
        self.base, self.cut = base, cut

    def __call__(self, x):
        return self.base(x) ^ (np.asarray(x)[:, 0] > self.cut).astype(np.uint8)


def _fit(cls, g, draw=0, **params):
    counted, sampler = Counted(g), Sampler(cls.default_distribution(), np.random.default_rng(draw))
    detector = BehaviourTest(**params).fit(cls, counted, sampler, 0.1, np.random.default_rng(draw + 1))
    return detector, counted, sampler


def test_parameters_are_validated():
    with pytest.raises(ParameterError, match="model must be one of"):
        BehaviourTest(model="tree")
    with pytest.raises(ParameterError, match="references must be an integer >= 2"):
        BehaviourTest(references=1)
    with pytest.raises(ParameterError, match="smallest p-value"):
        BehaviourTest(references=9, alpha_level=0.05)
    with pytest.raises(ParameterError, match="fresh must be"):
        BehaviourTest(fresh=1)
    assert repr(BehaviourTest(model="logistic", references=9, alpha_level=0.1)) == \
        "behaviour-test:model=logistic,references=9,alpha_level=0.1"
    with pytest.raises(IncompatibleError, match="needs trained classifiers"):
        BehaviourTest().check_class(Halfspaces(3))


def test_black_box_cost_and_constant_score(cls):
    detector, counted, sampler = _fit(cls, _clean(cls, 1), references=4, samples=150, alpha_level=0.2, **RFF)
    assert counted.evaluations == 150 and sampler.drawn == 150
    scores, decisions = detector.score_and_decide(np.zeros((5, 4)))
    np.testing.assert_array_equal(scores, np.full(5, 1.0 - detector.evidence.p_value))
    assert len(set(decisions.tolist())) == 1
    # the p-value is a rank among r + 1 = 5 models
    assert detector.evidence.p_value * 5 == pytest.approx(round(detector.evidence.p_value * 5))


def test_a_backdoor_firing_on_natural_inputs_is_rejected(cls):
    cut = float(np.quantile(cls.dataset.X_test[:, 0], 0.8))  # flips about 20% of natural inputs
    detector, _, _ = _fit(cls, Flipped(_clean(cls, 2), cut), references=9, alpha_level=0.1, **RFF)
    assert detector.evidence.p_value == pytest.approx(0.1) and detector.decide(np.zeros((1, 4)))[0]


def test_clean_models_are_rejected_at_most_at_rate_alpha_level(cls):
    # the suspect is one more draw of the references' recipe: exchangeable, P(p <= a) <= a
    trials, alpha_level, rejected = 60, 0.2, 0
    for t in range(trials):
        detector, _, _ = _fit(cls, _clean(cls, 10_000 + t), draw=2 * t, references=4, samples=100,
                              alpha_level=alpha_level, fresh=True, **RFF)
        rejected += bool(detector.decide(np.zeros((1, 4)))[0])
    assert stats.wilson(rejected, trials, LEVEL)[0] <= alpha_level


def test_a_model_that_changes_no_natural_prediction_gets_its_base_models_evidence(cls):
    # what the signature backdoor is on natural inputs: the same labels as its base model
    base = _clean(cls, 3)

    class SameLabels(Function):
        def __call__(self, x):
            return base(x)

    params = dict(references=4, alpha_level=0.2, seed=5, **RFF)
    assert _fit(cls, SameLabels(), draw=9, **params)[0].evidence == _fit(cls, base, draw=9, **params)[0].evidence
