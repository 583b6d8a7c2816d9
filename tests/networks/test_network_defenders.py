"""STRIP and Mahalanobis against independent reference computations on a fixed tiny model,
the conformal threshold, and vote with students on networks."""

import math

import numpy as np
import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.networks

from scipy.spatial.distance import mahalanobis as scipy_mahalanobis  # noqa: E402
from scipy.stats import entropy as scipy_entropy  # noqa: E402

from defendability import play  # noqa: E402
from defendability.classes.base import Counted  # noqa: E402
from defendability.defenders._calibration import conformal_threshold  # noqa: E402
from defendability.errors import IncompatibleError  # noqa: E402
from defendability.registry import build  # noqa: E402
from defendability.spaces import Sampler  # noqa: E402

SPEC = "networks:data=synthetic,hidden=8,epochs=3"


@pytest.fixture(scope="module")
def setting():
    cls = build("classes", SPEC)
    return cls, cls.trained(0), cls.default_distribution()


def test_strip_matches_the_papers_definition(setting):
    cls, g, dist = setting
    detector = build("defenders", "strip:copies=7,calibration=30").fit(
        cls, Counted(g), Sampler(dist, np.random.default_rng(0)), 0.1, np.random.default_rng(1))
    x = dist.sample(np.random.default_rng(2), 4)
    expected = []
    for row in x:  # one copy at a time: superimpose, clip, entropy over classes, average
        entropies = [scipy_entropy(g.probabilities(np.clip(row + overlay, 0, 1)[None])[0])
                     for overlay in detector.overlays]
        expected.append(-np.mean(entropies))
    np.testing.assert_allclose(detector.score(x), expected, rtol=1e-5, atol=1e-6)
    # the forward passes are counted: 7 copies per scored input
    view = Counted(g)
    detector.g = view
    detector.score(x)
    assert view.evaluations == 4 * 7


@pytest.mark.parametrize("mode", ["per-class", "tied"])
def test_mahalanobis_matches_a_reference_computation(setting, mode):
    from sklearn.covariance import LedoitWolf

    cls, g, dist = setting
    sampler = Sampler(dist, np.random.default_rng(5))
    detector = build("defenders", f"mahalanobis:mode={mode},samples=200,calibration=30").fit(
        cls, Counted(g), sampler, 0.1, np.random.default_rng(6))
    # the same 200 inputs the detector drew, drawn again from the same stream
    X = dist.sample(np.random.default_rng(5), 200)
    A = g.activations(X, "hidden.0").astype(np.float64)
    labels = g(X)
    if mode == "tied":
        means = {0: A.mean(axis=0)}
        centred = A - means[0]
    else:
        means = {c: A[labels == c].mean(axis=0) for c in np.unique(labels)}
        centred = np.stack([a - means[c] for a, c in zip(A, labels)])
    precision = np.linalg.inv(LedoitWolf(assume_centered=True).fit(centred).covariance_)
    x = dist.sample(np.random.default_rng(7), 5)
    ax = g.activations(x, "hidden.0").astype(np.float64)
    expected = [min(scipy_mahalanobis(a, m, precision) ** 2 for m in means.values()) for a in ax]
    np.testing.assert_allclose(detector.score(x), expected, rtol=1e-6)


def test_conformal_threshold_bounds_the_false_alarm_rate():
    rng = np.random.default_rng(0)
    # exchangeable scores: calibrate on 99, flag a fresh one; over many trials the rate <= fpr
    trials, n, fpr = 4000, 99, 0.05
    flagged = 0
    for _ in range(trials):
        scores = rng.normal(size=n + 1)
        flagged += scores[-1] > conformal_threshold(scores[:-1], fpr)
    rate = flagged / trials
    # exact: Pr = floor(fpr (n+1)) / (n+1) = 5/100; a 99.9% binomial band around it
    assert abs(rate - 0.05) < 3.3 * math.sqrt(0.05 * 0.95 / trials)
    # negative control: the plain (1 - fpr) quantile of a small sample over-flags
    small, over = 9, 0
    for _ in range(trials):
        scores = rng.normal(size=small + 1)
        over += scores[-1] > np.quantile(scores[:-1], 1 - 0.2)
    assert over / trials > 0.2 + 3.3 * math.sqrt(0.2 * 0.8 / trials)
    assert conformal_threshold(np.arange(5.0), 0.1) == math.inf  # too few scores: never flag


def test_activation_and_probability_defenders_refuse_toy_classes():
    for spec in ("strip", "mahalanobis"):
        with pytest.raises(IncompatibleError, match="networks"):
            play("subsets:N=12,d=3", "mixture", spec, eps=0.1, rounds=1)
    with pytest.raises(IncompatibleError, match="no layer 'conv.0'"):
        play(SPEC, "head-edit", "mahalanobis:layer=conv.0", eps=0.1, rounds=1)


def test_vote_with_students_catches_a_planted_unit_off_the_finite_support():
    # augmented D: students never see x* itself, so they do not learn the planted unit
    spec = "networks:data=synthetic,hidden=8,epochs=3,augment=shift,noise=0.05"
    vote = play(spec, "neuron-plant", "vote:learner=[students:epochs=3,voters=8,k=400]", eps=0.05, rounds=6,
                seed=1)
    assert vote.defender == "vote:learner=[students:epochs=3,voters=8,k=400]"
    assert vote.valid_rounds >= 5

    def separates(result):  # AUROC from graded scores only (THEORY §7)
        return result.auroc is not None and result.auroc >= 0.9

    assert separates(vote)
    # negative control: the same check rejects a defender that sees nothing
    assert not separates(play(spec, "neuron-plant", "accept", eps=0.05, rounds=6, seed=1))


def test_vote_on_networks_uses_the_students_ensemble_by_default():
    cls = build("classes", SPEC)
    vote = build("defenders", "vote").resolved(cls)
    assert repr(vote) == "vote:learner=students"
    assert vote.voter_count(cls, 0.02) == 16 and vote.batch_size(cls, 0.02) == 3000
    assert build("defenders", "vote:voters=5,k=50").resolved(cls).batch_size(cls, 0.02) == 50


def test_posterior_members_start_at_g_plus_scaled_noise(setting):
    cls, g, dist = setting
    still = 1e-9  # a learning rate that leaves the starting points where they are

    def members(noise):
        defender = build("defenders", f"posterior:members=6,samples=20,epochs=1,lr={still},noise={noise}")
        return defender.fit(cls, Counted(g), Sampler(dist, np.random.default_rng(0)), 0.1, np.random.default_rng(1))

    exact = members(0.0)
    for name, w in g.weights.items():
        np.testing.assert_allclose(exact.stacked[name].numpy(), np.broadcast_to(w, (6, *w.shape)), atol=1e-6)
    x = dist.sample(np.random.default_rng(2), 50)
    assert np.all(exact.score(x) == 0.0)  # every member is g
    noisy = members(0.5)
    for name, w in g.weights.items():
        spread = (noisy.stacked[name].numpy() - w[None]).std()
        assert spread == pytest.approx(0.5 * w.std(), rel=0.25), name
    assert noisy.score(x).max() > 0.0  # noisy members disagree with g somewhere
