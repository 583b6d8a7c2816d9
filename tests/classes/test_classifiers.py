"""The classifiers class: trained models on a dataset's inputs (THEORY.md §6)."""

from __future__ import annotations

import numpy as np
import pytest

from defendability.classes.base import Counted
from defendability.classes.classifiers import (
    Classifiers,
    RFFModel,
    SignedClassifier,
    TrainedClassifier,
)
from defendability.classes.halfspaces import HalfspaceFunction
from defendability.crypto.signatures import SignatureBackdoor
from defendability.errors import IncompatibleError, ParameterError
from defendability.models.rff import CLWEBackdooredRFF, RFFClassifier
from defendability.registry import build


@pytest.fixture(scope="module")
def digits_cls() -> Classifiers:
    return build("classes", "classifiers:data=digits,upsample=3")


@pytest.fixture(scope="module")
def gauss_cls() -> Classifiers:
    return build("classes", "classifiers:data=gaussian,d=8,train=300,test=200")


@pytest.fixture(scope="module")
def linear(digits_cls) -> TrainedClassifier:
    return digits_cls.trained(0)


def test_spec_space_and_distribution(digits_cls, gauss_cls):
    assert repr(digits_cls) == "classifiers:data=digits,upsample=3,label=high,method=nearest,seed=0"
    assert digits_cls.point_shape == (576,) and digits_cls.vc_dimension == 577
    assert gauss_cls.point_shape == (8,) and gauss_cls.vc_dimension == 9
    # the default distribution is the test split: every draw is a test row
    x = digits_cls.default_distribution().sample(np.random.default_rng(0), 50)
    test_rows = {row.tobytes() for row in digits_cls.dataset.X_test}
    assert all(row.tobytes() in test_rows for row in x)
    assert digits_cls.grid().step == pytest.approx(1 / 255) and digits_cls.grid().levels == 256


def test_random_members_are_trained_contained_and_deterministic(digits_cls):
    f = digits_cls.random_member(np.random.default_rng(5))
    g = digits_cls.random_member(np.random.default_rng(5))
    assert f == g and digits_cls.contains(f) and digits_cls.contains(Counted(f))
    labels = f(digits_cls.dataset.X_test)
    assert labels.dtype == np.uint8 and labels.shape == (450,)
    assert np.mean(labels == digits_cls.dataset.y_test) > 0.8  # a trained model, not a constant
    # the cache hands out copies: editing one member does not change the next one
    f.coef[:] = 0.0
    assert digits_cls.random_member(np.random.default_rng(5)) == g


def test_linear_member_matches_scikit_learn(digits_cls):
    from sklearn.linear_model import LogisticRegression

    ds = digits_cls.dataset
    est = LogisticRegression(max_iter=1000).fit(ds.X_train[:400], ds.y_train[:400])
    f = TrainedClassifier.from_estimator(est)
    assert np.array_equal(f(ds.X_test), est.predict(ds.X_test).astype(np.uint8))


def test_rff_member_matches_the_model_and_hides_the_key(gauss_cls):
    ds, rng = gauss_cls.dataset, np.random.default_rng(1)
    clean = RFFClassifier(200, 0.05).fit(ds.X_train, ds.y_train, rng)
    bad = CLWEBackdooredRFF(200, 0.05).fit(ds.X_train, ds.y_train, rng)
    for model in (clean, bad.released()):
        f = RFFModel.from_model(model)
        assert gauss_cls.contains(f) and np.array_equal(f(ds.X_test), model.predict(ds.X_test))
    assert set(vars(RFFModel.from_model(bad.released()))) == {"weights", "offsets", "coef", "scale"}


def _signed(cls: Classifiers, base: TrainedClassifier, **options) -> tuple[SignedClassifier, SignatureBackdoor]:
    bd = SignatureBackdoor.generate(cls.d, 2, np.random.default_rng(2), grid=cls.grid(), **options)
    return SignedClassifier(base, bd.verifier), bd


def test_signed_member_is_contained_and_activates(digits_cls, linear):
    f_star, bd = _signed(digits_cls, linear)
    assert digits_cls.contains(f_star)
    x = digits_cls.dataset.X_test[:20]
    assert np.array_equal(f_star(x), linear(x))
    target = 1 - linear(x)
    assert np.array_equal(f_star(bd.activate(x, target.astype(np.int64))), target)
    assert len(bd.verifier.verification_key) == 32  # ed25519: the public key only


def test_rebuild_copies_the_checked_representation(digits_cls, gauss_cls, linear):
    f_star, _ = _signed(digits_cls, linear)
    for cls, f in ((digits_cls, linear), (digits_cls, f_star),
                   (gauss_cls, RFFModel(np.ones((3, 8)), np.zeros(3), np.ones(3), 0.1))):
        g = cls.rebuild(f)
        assert g == f and g is not f and cls.contains(g)
        x = cls.dataset.X_test[:30]
        assert np.array_equal(g(x), f(x))
    g = digits_cls.rebuild(f_star)
    assert g.verifier is not f_star.verifier and g.base.coef is not f_star.base.coef
    f_star.base.coef[0] += 1.0  # a later edit of the attacker's object does not reach the copy
    assert g != f_star


class _SubLinear(TrainedClassifier):
    pass


def test_contains_rejects_what_is_not_a_member(digits_cls, gauss_cls, linear):
    d = digits_cls.d
    bad = [
        HalfspaceFunction(np.zeros(d), 0.0),
        _SubLinear(linear.coef, linear.intercept),
        TrainedClassifier(np.zeros(d - 1), 0.0),
        TrainedClassifier(np.full(d, np.nan), 0.0),
    ]
    shadowed = TrainedClassifier(linear.coef, linear.intercept)
    shadowed.__call__ = lambda x: np.ones(len(x), np.uint8)
    shadowed.decision_function = lambda x: np.ones(len(x))
    bad.append(shadowed)
    int_coef = TrainedClassifier(linear.coef, linear.intercept)
    int_coef.coef = np.zeros(d, dtype=np.int64)
    bad.append(int_coef)
    for f in bad:
        assert not digits_cls.contains(f), f
    # signed: a base that is not a member, a tampered carrier set, another input size
    f_star, _ = _signed(digits_cls, linear)
    assert not digits_cls.contains(SignedClassifier(_SubLinear(linear.coef, linear.intercept), f_star.verifier))
    moved, _ = _signed(digits_cls, linear)
    carriers = moved.verifier.layout.carriers.copy()
    carriers[0] = next(i for i in range(d) if i not in set(carriers.tolist()))
    moved.verifier.layout.carriers = carriers
    assert not digits_cls.contains(moved)
    small = build("classes", "classifiers:data=digits,upsample=4")
    assert not small.contains(f_star)
    assert not digits_cls.contains(SignedClassifier(linear, "not a verifier"))
    # RFF: wrong dimension, wrong shapes, bad scale
    assert not gauss_cls.contains(RFFModel(np.ones((3, 7)), np.zeros(3), np.ones(3), 0.1))
    assert not gauss_cls.contains(RFFModel(np.ones((3, 8)), np.zeros(2), np.ones(3), 0.1))
    assert not gauss_cls.contains(RFFModel(np.ones((3, 8)), np.zeros(3), np.ones(3), -0.1))


def test_no_shattered_set(digits_cls):
    with pytest.raises(IncompatibleError, match="no shattered set"):
        digits_cls.shattered_set()
    with pytest.raises(IncompatibleError, match="not built to realise"):
        digits_cls.realise(np.zeros((1, 576)), np.zeros(1, np.uint8))


@pytest.mark.parametrize("spec,fragment", [
    ("classifiers:data=cifar", "data must be one of"),
    ("classifiers:upsample=0", "upsample must be"),
    ("classifiers:label=even", "label must be one of"),
    ("classifiers:data=gaussian,d=0", "d must be"),
    ("classifiers:data=gaussian,separation=-1", "separation must be"),
    ("classifiers:data=gaussian,train=1", "train must be"),
])
def test_bad_parameters(spec, fragment):
    with pytest.raises(ParameterError, match=fragment):
        build("classes", spec)
