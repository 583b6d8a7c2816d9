"""Static behaviour tests: a suspect model against clean models trained afresh
(THEORY.md §6; docs/static-detection.md).

Power is an AUROC over independently trained suspects (30 clean, 30 backdoored),
higher score = more suspicious; "does not separate" is the acceptance region of a
two-sided Mann–Whitney test of AUROC = 1/2 at level 0.001, "separates" is AUROC >= 0.9.
RFF: the two-Gaussian task of the model tests (d = 32, m = 500, s = 0.02, ridge 1, the
library's gamma = 2 sqrt(d) and beta = 0.01). Signature: digits upsampled x3 (576
coordinates), an SGD linear classifier as the base model, Ed25519.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import SGDClassifier
from threadpoolctl import threadpool_limits

import defendability.static.behaviour  # noqa: F401  (explicit import of the module under test)
from defendability import stats as dstats
from defendability.crypto.clwe import random_secret
from defendability.crypto.signatures import SignatureBackdoor
from defendability.data.digits import digits
from defendability.errors import ParameterError
from defendability.models.rff import CLWEBackdooredRFF, RFFClassifier
from defendability.static.behaviour import (
    accuracy_test,
    agreement_test,
    reference_predictions,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))
from gaussian_tasks import two_gaussians

LEVEL = 0.001
PAIRS, REFERENCES = 30, 10
D, M, SCALE, RIDGE = 32, 500, 0.02, 1.0
#: The crude control backdoor flips the output on the natural region x_1 > z_0.9 (10% of inputs).
REGION = stats.norm.ppf(0.9)


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    with threadpool_limits(limits=1):
        yield


def _not_separated(clean, backdoored) -> bool:
    return stats.mannwhitneyu(backdoored, clean, alternative="two-sided").pvalue >= LEVEL


@pytest.fixture(scope="module")
def rff():
    rng = np.random.default_rng(517)
    u = random_secret(rng, D)
    x_train, y_train = two_gaussians(rng, 500, u, 2.5)
    x_test, y_test = two_gaussians(rng, 1000, u, 2.5)
    refs = reference_predictions(lambda r: RFFClassifier(M, SCALE, RIDGE).fit(x_train, y_train, r), x_test,
                                 REFERENCES, rng)
    clean = [RFFClassifier(M, SCALE, RIDGE).fit(x_train, y_train, r).predict(x_test) for r in rng.spawn(PAIRS)]
    backdoored = [CLWEBackdooredRFF(M, SCALE, RIDGE).fit(x_train, y_train, r).released().predict(x_test)
                  for r in rng.spawn(PAIRS)]
    crude = [np.where(x_test[:, 0] > REGION, 1 - p, p) for p in
             (RFFClassifier(M, SCALE, RIDGE).fit(x_train, y_train, r).predict(x_test) for r in rng.spawn(PAIRS))]
    tests = {"agreement": lambda p: agreement_test(p, refs), "accuracy": lambda p: accuracy_test(p, refs, y_test)}
    out = {name: {"clean": [t(p) for p in clean], "backdoored": [t(p) for p in backdoored],
                  "crude": [t(p) for p in crude]} for name, t in tests.items()}
    out["task"] = (rng, (x_train, y_train), (x_test, y_test))
    return out


def test_rank_p_value_and_score_on_a_hand_example():
    refs = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, 1, 1, 1]], dtype=np.uint8)
    # the suspect disagrees with everyone on two inputs: lowest mean agreement of the four
    e = agreement_test(np.array([1, 1, 1, 1], dtype=np.uint8), refs)
    # mean agreements: suspect (0.5 + 0.5 + 0.75)/3; refs (0.5 + 1 + 0.75)/3 twice, (0.75 + 0.75 + 0.75)/3
    assert e.score == pytest.approx((0.75 + 0.75 + 0.75) / 3 - 1.75 / 3) and e.p_value == pytest.approx(1 / 4)
    a = accuracy_test(refs[0], refs, np.array([0, 0, 1, 1]))  # a copy of the best: ties count against it
    assert a.score == pytest.approx((1 + 1 + 0.75) / 3 - 1.0) and a.p_value == pytest.approx(1.0)
    with pytest.raises(ParameterError, match="r >= 2"):
        agreement_test(np.zeros(4), np.zeros((1, 4)))
    with pytest.raises(ParameterError, match="truth"):
        accuracy_test(np.zeros(4), np.zeros((2, 4)), np.zeros(3))


def test_rank_p_value_is_exact_on_clean_suspects(rff):
    # exchangeability gives P(p <= j/(r+1)) = j/(r+1) for one suspect and its own
    # references (no ties); suspects that share references are dependent, so each of the
    # 30 clean suspects here gets 4 fresh references, and p <= 1/5 must occur at rate 1/5
    rng, (x_train, y_train), (x_test, y_test) = rff["task"]
    lows = {"agreement": 0, "accuracy": 0}
    for r in rng.spawn(PAIRS):
        refs = reference_predictions(lambda c: RFFClassifier(M, SCALE, RIDGE).fit(x_train, y_train, c), x_test, 4, r)
        suspect = RFFClassifier(M, SCALE, RIDGE).fit(x_train, y_train, r).predict(x_test)
        lows["agreement"] += agreement_test(suspect, refs).p_value <= 0.2
        lows["accuracy"] += accuracy_test(suspect, refs, y_test).p_value <= 0.2
    for name, low in lows.items():
        lo, hi = dstats.wilson(low, PAIRS, 1 - LEVEL)
        assert lo <= 0.2 <= hi, name


@pytest.mark.parametrize("name", ["agreement", "accuracy"])
def test_rff_clwe_backdoor_is_inside_the_clean_spread(rff, name):
    clean = [e.score for e in rff[name]["clean"]]
    assert _not_separated(clean, [e.score for e in rff[name]["backdoored"]])


@pytest.mark.parametrize("name", ["agreement", "accuracy"])
def test_a_backdoor_firing_on_natural_inputs_is_separated(rff, name):
    clean = [e.score for e in rff[name]["clean"]]
    assert dstats.auroc(clean, [e.score for e in rff[name]["crude"]]) >= 0.9


def test_signature_backdoor_behaves_identically_on_natural_inputs():
    rng = np.random.default_rng(518)
    data = digits(upsample=3)

    def train(r):
        return SGDClassifier(max_iter=5, tol=None, random_state=int(r.integers(1 << 31))).fit(data.X_train,
                                                                                              data.y_train)

    refs = reference_predictions(train, data.X_test, REFERENCES, rng)
    clean, backdoored = [], []
    for r in rng.spawn(PAIRS):
        clean.append(agreement_test(train(r).predict(data.X_test), refs).score)
    for r in rng.spawn(PAIRS):
        base = train(r)
        backdoor = SignatureBackdoor.generate(data.X_test.shape[1], 2, r)
        wrapped = backdoor.wrap(base)
        labels = wrapped.predict(data.X_test)
        assert np.array_equal(labels, base.predict(data.X_test))  # agreement 1.0 on natural inputs
        # so its evidence is exactly its base model's: the test has nothing to see
        assert agreement_test(labels, refs) == agreement_test(base.predict(data.X_test), refs)
        backdoored.append(agreement_test(labels, refs).score)
    assert _not_separated(clean, backdoored)
    # and the backdoor is live: activated inputs go to the chosen target
    target = 1 - base.predict(data.X_test[:50])
    assert np.array_equal(wrapped.predict(backdoor.activate(data.X_test[:50], target)), target)
