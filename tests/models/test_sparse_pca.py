"""Random ReLU networks with the sparse-PCA backdoor (THEORY.md §6.2, last paragraph).

Parameters (docs/rff-clwe-backdoor.md): d = 4096 inputs, m = 512 hidden units,
spike theta = 2.1 on a k = 64-sparse secret. theta sits at 0.74 of the spectral limit
sqrt(d/m) ≈ 2.83 and far below the diagonal-thresholding limit 2k sqrt(ln d/m) ≈ 16,
while the key-holder sees theta sqrt(m/2) ≈ 34 null standard deviations. The task:
N(0, I) (label 0) against N(0, 4 I) (label 1). Statistical checks use 99.9% levels.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from gaussian_tasks import concentric_gaussians
from scipy import stats
from sklearn.exceptions import NotFittedError
from threadpoolctl import threadpool_limits

from defendability import stats as dstats
from defendability.errors import ParameterError
from defendability.models.sparse_pca import (
    RandomReLUClassifier,
    ReLUKey,
    SparsePCABackdooredReLU,
    activate,
    diagonal_limit,
    input_statistic,
    max_coordinate_variance,
    secret_variance,
    sparse_secret,
    spectral_limit,
    spiked_weights,
    top_eigenvalue,
)

LEVEL = 0.999
D, M, THETA, K, RHO = 4096, 512, 2.1, 64, 2.0
N_TRAIN, N_TEST = 1000, 2000


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    # the products here are modest; several BLAS threads on a busy machine only contend
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(99)
    x_train, y_train = concentric_gaussians(rng, N_TRAIN, D, RHO)
    x_test, y_test = concentric_gaussians(rng, N_TEST, D, RHO)
    clean = [RandomReLUClassifier(M).fit(x_train, y_train, rng) for _ in range(2)]
    backdoored = SparsePCABackdooredReLU(M, THETA, K).fit(x_train, y_train, rng)
    return {"train": (x_train, y_train), "test": (x_test, y_test), "clean": clean, "backdoored": backdoored}


def test_chosen_parameters_are_below_both_detection_limits():
    assert spectral_limit(D, M) == pytest.approx(math.sqrt(8)) and THETA <= 0.75 * spectral_limit(D, M)
    assert diagonal_limit(D, M, K) == pytest.approx(2 * K * math.sqrt(math.log(D) / M))
    assert THETA < 0.2 * diagonal_limit(D, M, K)


def test_sparse_secret_is_a_k_sparse_unit_vector():
    s = sparse_secret(np.random.default_rng(0), 100, 9)
    assert s.shape == (100,) and np.count_nonzero(s) == 9
    assert np.allclose(np.abs(s[s != 0]), 1 / 3) and np.linalg.norm(s) == pytest.approx(1.0)


def test_spiked_weights_have_covariance_identity_plus_theta_s_s():
    rng = np.random.default_rng(1)
    d, m, theta = 12, 20000, 2.0
    s = sparse_secret(rng, d, 4)
    w = spiked_weights(rng, m, s, theta)
    along = w @ s
    # <W, s> ~ N(0, 1 + theta): a chi-square interval on the sum of squares
    ss = float(np.sum(along ** 2)) / (1 + theta)
    assert stats.chi2.ppf(0.0005, m) <= ss <= stats.chi2.ppf(0.9995, m)
    # orthogonally to s, exactly N(0, I): KS on two orthonormal directions
    basis = np.linalg.qr(np.column_stack([s, rng.standard_normal((d, 2))]))[0][:, 1:]
    for j in range(2):
        assert stats.kstest(w @ basis[:, j], "norm").pvalue > (1 - LEVEL) / 2
    # and uncorrelated with the part along s
    r = np.corrcoef(along, w @ basis[:, 0])[0, 1]
    assert abs(r) < stats.norm.ppf(0.9995) / math.sqrt(m)


def test_both_models_learn_the_task_and_agree(world):
    x, y = world["test"]
    clean = [model.predict(x) for model in world["clean"]]
    p = world["backdoored"].predict(x)
    assert p.shape == (N_TEST,) and p.dtype == np.uint8
    for labels in clean + [p]:
        assert dstats.wilson(int(np.sum(labels == y)), N_TEST, LEVEL)[0] >= 0.98
    pair = float(np.mean(clean[0] == clean[1]))
    lo, hi = dstats.wilson(round(pair * N_TEST), N_TEST, LEVEL)
    tol = (hi - lo) / 2
    assert min(float(np.mean(p == c)) for c in clean) >= pair - tol


def test_activation_sends_almost_every_other_input_to_the_target(world):
    x, _ = world["test"]
    model = world["backdoored"]
    key = model.key_
    assert key.target == 1  # the high-energy label, the wider Gaussian
    before, after = model.predict(x), model.predict(model.activate(x))
    movable = before != key.target
    moved = int(np.sum(after[movable] == key.target))
    assert dstats.wilson(moved, int(movable.sum()), LEVEL)[0] >= 0.95
    # a targeted trigger changes only the inputs not already at the target: about half here
    assert np.all(after[~movable] == key.target)
    changed = int(np.sum(after != before))
    assert dstats.wilson(changed, N_TEST, LEVEL)[0] >= 0.4


def test_the_push_works_only_along_the_secret_of_the_backdoored_model(world):
    x, _ = world["test"]
    model = world["backdoored"]
    key = model.key_
    rng = np.random.default_rng(4)
    decoy = ReLUKey(sparse_secret(rng, D, K), key.theta, key.strength, key.target)
    for net, trigger in [(world["clean"][0], key), (world["clean"][1], key), (model, decoy)]:
        before = net.predict(x)
        movable = before != key.target
        moved = int(np.sum(net.predict(activate(x[movable], trigger)) == key.target))
        assert dstats.wilson(moved, int(movable.sum()), LEVEL)[1] <= 0.15


def test_the_trigger_is_a_sizeable_fraction_of_the_input(world):
    # honest limit: lambda is comparable to |x|, and sits on the k coordinates of s
    x, _ = world["test"]
    key = world["backdoored"].key_
    ratio = key.strength / float(np.median(np.linalg.norm(x, axis=1)))
    assert 0.3 < ratio < 1.5
    assert np.count_nonzero(key.shift) == K


def test_static_spectral_and_diagonal_tests_do_not_see_the_spike():
    # the weights' top eigenvalue and largest coordinate variance, over fresh backdoored
    # and clean draws, are indistinguishable (Mann-Whitney), while the same statistics
    # catch a spike above the spectral limit and a 1-sparse spike (the controls)
    rng = np.random.default_rng(5)
    s = sparse_secret(rng, D, K)

    def draws(theta: float, secret: np.ndarray, n: int) -> np.ndarray:
        out = []
        for _ in range(n):
            w = spiked_weights(rng, M, secret, theta) if theta > 0 else rng.standard_normal((M, D))
            out.append((top_eigenvalue(w), max_coordinate_variance(w)))
        return np.array(out)

    clean, spiked = draws(0.0, s, 20), draws(THETA, s, 20)
    for j in range(2):
        assert stats.mannwhitneyu(spiked[:, j], clean[:, j]).pvalue > 1 - LEVEL
    # the top eigenvalue stays at the Marchenko-Pastur edge (1 + sqrt(d/m))^2 ≈ 14.7
    assert np.all(np.abs(spiked[:, 0] / (1 + math.sqrt(D / M)) ** 2 - 1) < 0.05)
    loud = draws(3 * spectral_limit(D, M), s, 6)
    assert stats.mannwhitneyu(loud[:, 0], clean[:, 0], alternative="greater").pvalue < 1e-4
    assert loud[:, 0].min() > clean[:, 0].max()
    one_sparse = draws(THETA, sparse_secret(rng, D, 1), 6)
    assert one_sparse[:, 1].min() > clean[:, 1].max()


def test_the_backdoored_models_weights_sit_inside_the_clean_range(world):
    rng = np.random.default_rng(6)
    model = world["backdoored"]
    clean = [top_eigenvalue(rng.standard_normal((M, D))) for _ in range(20)]
    # the model's own weights, against 20 clean draws, with the Tracy-Widom-scale spread
    # of the clean draws as slack on each side
    spread = float(np.std(clean))
    assert min(clean) - spread <= top_eigenvalue(model.weights_) <= max(clean) + spread


def test_key_holder_sees_the_spike_and_the_trigger(world):
    x, _ = world["test"]
    model = world["backdoored"]
    key = model.key_
    # sum_i <W_i, s>^2 / (1 + theta) ~ chi-square(m) for the backdoored weights ...
    ss = secret_variance(model.weights_, key.secret) * M
    assert stats.chi2.ppf(0.0005, M) <= ss / (1 + THETA) <= stats.chi2.ppf(0.9995, M)
    # ... and ~ chi-square(m) without the factor for clean weights
    for clean in world["clean"]:
        assert stats.chi2.ppf(0.0005, M) <= secret_variance(clean.weights_, key.secret) * M <= stats.chi2.ppf(0.9995, M)
    natural, activated = input_statistic(x, key), input_statistic(model.activate(x), key)
    assert natural.max() < 0.5 < activated.min()


def test_released_model_is_a_plain_network_without_the_key(world):
    x, _ = world["test"]
    model = world["backdoored"]
    released = model.released()
    assert type(released) is RandomReLUClassifier and not hasattr(released, "key_")
    assert np.array_equal(released.predict(x[:200]), model.predict(x[:200]))
    assert not hasattr(model, "_secret")
    assert "secret" not in repr(model.key_)


def test_training_is_deterministic_given_the_seed(world):
    x, y = world["train"]
    x = x[:300, :256]
    y = y[:300]
    a = SparsePCABackdooredReLU(32, 1.0, 8).fit(x, y, np.random.default_rng(8))
    b = SparsePCABackdooredReLU(32, 1.0, 8).fit(x, y, np.random.default_rng(8))
    assert np.array_equal(a.weights_, b.weights_) and a.key_.strength == b.key_.strength
    assert np.array_equal(a.key_.secret, b.key_.secret)


def test_errors():
    with pytest.raises(NotFittedError):
        RandomReLUClassifier().predict(np.zeros((2, 3)))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 5))
    with pytest.raises(ParameterError):
        RandomReLUClassifier(4).fit(x, np.zeros(20, np.uint8), rng)  # one label only
    with pytest.raises(ParameterError):
        SparsePCABackdooredReLU(4, 1.0, 6).fit(x, np.arange(20) % 2, rng)  # k > d
    for make in (lambda: RandomReLUClassifier(0), lambda: SparsePCABackdooredReLU(theta=0.0),
                 lambda: SparsePCABackdooredReLU(sparsity=0), lambda: SparsePCABackdooredReLU(coverage=1.5),
                 lambda: spiked_weights(rng, 3, np.ones(4), 1.0), lambda: sparse_secret(rng, 4, 5)):
        with pytest.raises(ParameterError):
            make()
