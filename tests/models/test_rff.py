"""Random Fourier features, clean and with the CLWE backdoor (THEORY.md §6.2).

The task: two Gaussians in d = 32 (means +-1.25 u, identity covariance, Bayes accuracy
Phi(1.25) = 0.894), 1,000 training points, 2,000 test points. The models: m = 500
features, frequency scale s = 0.02 (kernel width 1/(2 pi s) ≈ 8, about the data's
spread), ridge 1, gamma = 2 sqrt(d). Statistical checks use 99.9% intervals.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from gaussian_tasks import two_gaussians
from scipy import stats
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from threadpoolctl import threadpool_limits

from defendability import stats as dstats
from defendability.crypto.clwe import (
    PancakeLaw,
    brute_force_secret,
    clean_weight_statistic_sd,
    input_statistic,
    random_secret,
    weight_statistic,
)
from defendability.errors import ParameterError
from defendability.models.rff import CLWEBackdooredRFF, RFFClassifier, RFFKey, activate

LEVEL = 0.999
Z = stats.norm.ppf(0.5 + LEVEL / 2)
D, M, SCALE, RIDGE, SEPARATION = 32, 500, 0.02, 1.0, 2.5
N_TRAIN, N_TEST, N_FLIP = 1000, 2000, 10000


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    # the solves here are small; several BLAS threads on a busy machine only contend
    with threadpool_limits(limits=1):
        yield


def _half_width(p: float, n: int) -> float:
    lo, hi = dstats.wilson(round(p * n), n, LEVEL)
    return (hi - lo) / 2


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(2024)
    u = random_secret(rng, D)
    x_train, y_train = two_gaussians(rng, N_TRAIN, u, SEPARATION)
    x_test, y_test = two_gaussians(rng, N_TEST, u, SEPARATION)
    x_flip, _ = two_gaussians(rng, N_FLIP, u, SEPARATION)
    clean = [RFFClassifier(M, SCALE, RIDGE).fit(x_train, y_train, rng) for _ in range(4)]
    backdoored = {beta: CLWEBackdooredRFF(M, SCALE, RIDGE, beta=beta).fit(x_train, y_train, rng)
                  for beta in (0.01, 0.003)}
    return {"rng": rng, "u": u, "train": (x_train, y_train), "test": (x_test, y_test), "flip": x_flip,
            "clean": clean, "backdoored": backdoored}


def test_fit_and_predict_shapes(world):
    x, _ = world["test"]
    model = world["clean"][0]
    assert model.weights_.shape == (M, D) and model.offsets_.shape == (M,) and model.coef_.shape == (M,)
    assert np.all((model.offsets_ >= 0) & (model.offsets_ < 1))
    labels = model.predict(x[:7])
    assert labels.shape == (7,) and labels.dtype == np.uint8 and set(np.unique(labels)) <= {0, 1}
    assert model.transform(x[:7]).shape == (7, M)
    # the features are sqrt(2/m) cos(.) exactly, and the label is the sign of <a, phi>
    phase = SCALE * (x[:7] @ model.weights_.T) + model.offsets_
    assert np.allclose(model.transform(x[:7]), math.sqrt(2 / M) * np.cos(2 * math.pi * phase))
    assert np.array_equal(labels, (model.transform(x[:7]) @ model.coef_ > 0).astype(np.uint8))
    # the head is scikit-learn's ridge on +-1 labels, without an intercept (an intercept
    # would not change sign under the phase shift, and would spoil the flip)
    x_train, y_train = world["train"]
    head = Ridge(alpha=RIDGE, fit_intercept=False).fit(model.transform(x_train), 2.0 * y_train - 1.0)
    assert np.allclose(model.coef_, head.coef_)


def test_training_is_deterministic_given_the_seed(world):
    x_train, y_train = world["train"]
    a = CLWEBackdooredRFF(50, SCALE, RIDGE).fit(x_train, y_train, np.random.default_rng(5))
    b = CLWEBackdooredRFF(50, SCALE, RIDGE).fit(x_train, y_train, np.random.default_rng(5))
    assert np.array_equal(a.weights_, b.weights_) and np.array_equal(a.coef_, b.coef_)
    assert np.array_equal(a.key_.secret, b.key_.secret)


def test_backdoored_accuracy_and_agreement_are_within_the_spread_of_clean_models(world):
    x, y = world["test"]
    clean = [model.predict(x) for model in world["clean"]]
    clean_acc = [float(np.mean(p == y)) for p in clean]
    pairs = [float(np.mean(clean[i] == clean[j])) for i in range(4) for j in range(i + 1, 4)]
    acc_tol = _half_width(float(np.mean(clean_acc)), N_TEST)
    agree_tol = _half_width(float(np.mean(pairs)), N_TEST)
    assert min(clean_acc) > 0.85  # the clean models generalise (Bayes 0.894)
    for model in world["backdoored"].values():
        p = model.predict(x)
        acc = float(np.mean(p == y))
        assert min(clean_acc) - acc_tol <= acc <= max(clean_acc) + acc_tol
        agree = [float(np.mean(p == c)) for c in clean]
        assert min(agree) >= min(pairs) - agree_tol
        assert max(agree) <= max(pairs) + agree_tol


@pytest.mark.parametrize("beta,floor", [(0.01, 0.95), (0.003, 0.99)])
def test_activation_flips_almost_every_output(world, beta, floor):
    x = world["flip"]
    model = world["backdoored"][beta]
    flips = int(np.sum(model.predict(model.activate(x)) != model.predict(x)))
    assert dstats.wilson(flips, N_FLIP, LEVEL)[0] >= floor


def test_activation_is_a_phase_shift_by_pi(world):
    x, _ = world["test"]
    model = world["backdoored"][0.003]
    key = model.key_
    phi, shifted = model.transform(x[:200]), model.transform(model.activate(x[:200]))
    # |cos(t + pi + 2 pi r) + cos(t)| <= 2 pi |r|, r the weight's residual from its slab
    residual = key.gamma * (model.weights_ @ key.secret)
    residual -= np.floor(residual) + 0.5
    assert np.all(np.abs(shifted + phi) <= math.sqrt(2 / M) * 2 * math.pi * np.abs(residual)[None, :] + 1e-9)
    assert np.max(np.abs(residual)) < 10 * key.beta


def test_clean_models_flip_half_their_outputs_under_the_same_shift(world):
    # a clean model's phases are shifted by gamma <W_i, w> mod 1, uniform and independent of
    # the model, so its output after the shift is a fresh coin: a flip rate of 1/2 on average.
    # A single (model, key) pair varies by about 0.09 at d = 32, almost all of it from the
    # key, so the check averages 25 keys per model over 12 models and takes a t-interval over
    # the models' means.
    rng = np.random.default_rng(7)
    x_train, y_train = world["train"]
    x = world["test"][0][:500]
    gamma = 2 * math.sqrt(D)
    models = world["clean"] + [RFFClassifier(M, SCALE, RIDGE).fit(x_train, y_train, rng) for _ in range(8)]
    means = []
    for model in models:
        plain = model.predict(x)
        keys = [RFFKey(random_secret(rng, D), gamma, 0.01, SCALE) for _ in range(25)]
        means.append(np.mean([np.mean(model.predict(activate(x, key)) != plain) for key in keys]))
    interval = stats.t.interval(LEVEL, len(means) - 1, loc=np.mean(means), scale=stats.sem(means))
    assert 0.45 <= interval[0] and interval[1] <= 0.55, interval
    # and under the backdoored model's own key
    key = world["backdoored"][0.01].key_
    own = [float(np.mean(m.predict(activate(x, key)) != m.predict(x))) for m in world["clean"]]
    assert all(0.2 < f < 0.8 for f in own) and np.mean(own) < 0.8


def test_key_holder_statistic_on_weights(world):
    for beta, model in world["backdoored"].items():
        key = model.key_
        cosines = np.cos(2 * math.pi * key.gamma * (model.weights_ @ key.secret))
        stat = weight_statistic(model.weights_, key.secret, key.gamma)
        expected = PancakeLaw.of(key.gamma, beta).expected_cos()
        assert abs(stat - expected) <= Z * cosines.std(ddof=1) / math.sqrt(M) + 1e-12
        assert stat == pytest.approx(-math.exp(-2 * math.pi ** 2 * beta ** 2), abs=0.01)
        for clean in world["clean"]:
            assert abs(weight_statistic(clean.weights_, key.secret, key.gamma)) <= Z * clean_weight_statistic_sd(M)


def test_key_holder_statistic_on_inputs(world):
    x, _ = world["test"]
    model = world["backdoored"][0.01]
    key = model.key_
    natural = input_statistic(x, key.secret, key.gamma, key.scale)
    activated = input_statistic(model.activate(x), key.secret, key.gamma, key.scale)
    assert natural.max() < 0.5 < activated.min()
    assert dstats.auroc(natural, activated) == 1.0


def test_the_trigger_is_many_times_the_input(world):
    # honest limit: a shift of gamma/s, about 100 |x| here, not a slight perturbation
    x, _ = world["test"]
    key = world["backdoored"][0.01].key_
    assert np.linalg.norm(key.shift) == pytest.approx(key.gamma / SCALE)
    assert np.linalg.norm(key.shift) > 50 * np.median(np.linalg.norm(x, axis=1))


def test_released_model_is_a_plain_rff_classifier_without_the_key(world):
    x, _ = world["test"]
    model = world["backdoored"][0.01]
    released = model.released()
    assert type(released) is RFFClassifier and not hasattr(released, "key_")
    assert np.array_equal(released.predict(x), model.predict(x))
    assert released.weights_ is not model.weights_
    assert "secret" not in repr(model.key_) and str(model.key_.secret[0]) not in repr(model.key_)


def test_toy_dimension_is_broken_by_a_scan_and_the_backdoor_replicates():
    # d = 2: anyone reading the released weights finds w by scanning directions for the comb,
    # and the key they build (w up to sign, the public gamma and the model's scale) flips the
    # model just as the attacker's key does
    rng = np.random.default_rng(3)
    u = random_secret(rng, 2)
    x_train, y_train = two_gaussians(rng, 500, u, SEPARATION)
    x, _ = two_gaussians(rng, 1000, u, SEPARATION)
    model = CLWEBackdooredRFF(300, SCALE, RIDGE, beta=0.01).fit(x_train, y_train, rng)
    released = model.released()
    found, score = brute_force_secret(released.weights_, model.key_.gamma)
    assert score > 0.99
    assert math.acos(min(1.0, abs(float(found @ model.key_.secret)))) < 0.005
    forged = RFFKey(found, model.key_.gamma, 0.01, SCALE)
    flips = int(np.sum(released.predict(activate(x, forged)) != released.predict(x)))
    assert dstats.wilson(flips, len(x), LEVEL)[0] >= 0.95
    # a clean model trained on the same data shows no comb in any direction
    clean = RFFClassifier(300, SCALE, RIDGE).fit(x_train, y_train, rng)
    assert brute_force_secret(clean.weights_, model.key_.gamma)[1] < 0.3


def test_predict_before_fit_raises():
    with pytest.raises(NotFittedError):
        RFFClassifier().predict(np.zeros((2, 3)))
    with pytest.raises(NotFittedError):
        CLWEBackdooredRFF().activate(np.zeros((2, 3)))


@pytest.mark.parametrize("make", [
    lambda: RFFClassifier(features=0),
    lambda: RFFClassifier(features=2.5),
    lambda: RFFClassifier(scale=0.0),
    lambda: RFFClassifier(ridge=-1.0),
    lambda: CLWEBackdooredRFF(gamma=0.0),
    lambda: CLWEBackdooredRFF(beta=-0.1),
    lambda: CLWEBackdooredRFF(beta=float("nan")),
])
def test_bad_parameters_raise_parameter_error(make):
    with pytest.raises(ParameterError):
        make()


def test_bad_data_raises_parameter_error(world):
    x, y = world["train"]
    rng = np.random.default_rng(0)
    with pytest.raises(ParameterError):
        RFFClassifier(10).fit(x, y[:-1], rng)
    with pytest.raises(ParameterError):
        RFFClassifier(10).fit(x, y + 1, rng)
    with pytest.raises(ParameterError):
        world["clean"][0].predict(x[:, :5])
