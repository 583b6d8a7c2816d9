"""P11 (random-oracle separation): keyed-hash members are about 1/2 apart, so no valid
backdoor exists and the trivial defender wins every round; yet learners stay at
accuracy 1/2 on unseen inputs. The separation is computational: a small key space is
learned by exhaustive ERM, the full one (2^128 keys) by nothing we can run."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier

from defendability import Game, play, registry, stats
from defendability.classes.keyed_hash import KeyedHash


@pytest.mark.parametrize("cls", ["keyed-hash:n=16", "keyed-hash:n=16,keys=256"])
def test_accept_wins_every_round(cls):
    r = play(cls, "point-flip", "accept", eps=0.05, rounds=200, seed=111)
    # the honest attacker finds no flip within eps and declines
    assert r.valid_rounds == 0 and r.invalid_reasons == {"no_backdoor": 200}
    assert r.win_rate == 1.0 and r.alpha == 0.0 and r.beta == 0.0


def test_members_are_about_half_apart():
    table = KeyedHash(n=16, keys=256)._table
    d = np.count_nonzero(table[:32, None, :] != table[None, :32, :], axis=2) / table.shape[1]
    off = d[~np.eye(32, dtype=bool)]
    # 65536 points: a pair's distance is 1/2 +- 0.002 (one sd); 0.48..0.52 is 10 sd
    assert off.min() > 0.48 and off.max() < 0.52


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("model", [LogisticRegression(max_iter=500), KNeighborsClassifier(5),
                                   RandomForestClassifier(100, random_state=0),
                                   MLPClassifier((64,), max_iter=300, random_state=0)],
                         ids=["logistic", "knn", "forest", "mlp"])
def test_generic_learners_stay_at_one_half(model):
    cls = KeyedHash(n=24)
    rng = np.random.default_rng(112)
    f = cls.random_member(rng)
    X, Q = (rng.integers(0, 2, (4000, 24), dtype=np.uint8) for _ in range(2))
    model.fit(X, f(X))
    correct = int(np.count_nonzero(model.predict(Q) == f(Q)))
    lo, hi = stats.wilson(correct, len(Q), 0.999)
    assert lo <= 0.5 <= hi


def test_library_learners_need_the_key_space():
    full = KeyedHash(n=16)
    X = np.zeros((1, 10, 16), np.uint8)
    for name in ("erm", "one-inclusion"):
        with pytest.raises(TypeError, match="keyed-hash|members|enumerable|infeasible"):
            registry.build("learners", name).predict(full, X, np.zeros((1, 10), np.uint8), X[0])


def test_small_key_space_is_learned_by_exhaustive_erm():
    cls = KeyedHash(n=16, keys=256)
    rng = np.random.default_rng(113)
    correct = total = 0
    for _ in range(10):
        f = cls.random_member(rng)
        X = rng.integers(0, 2, (2, 40, 16), dtype=np.uint8)
        Q = rng.integers(0, 2, (200, 16), dtype=np.uint8)
        pred = registry.build("learners", "erm").predict(cls, X, f(X.reshape(-1, 16)).reshape(2, 40), Q)
        correct += int(np.count_nonzero(pred == f(Q)[None, :]))
        total += pred.size
    assert stats.wilson(correct, total, 0.999)[0] > 0.95


def test_vote_wins_whenever_no_backdoor_exists():
    r = Game("keyed-hash:n=16,keys=256", "point-flip", "vote:learner=erm,voters=9,k=40", 0.05).play(rounds=40, seed=114)
    assert r.valid_rounds == 0 and r.beta == 0.0 and r.alpha == 0.0


@pytest.mark.parametrize("model", ["knn", "forest"])
def test_vote_learners_stay_at_one_half_on_unseen_inputs(model):
    """The learners a `vote` defender can use on the full class (the generic estimator;
    the class-specific ones need the key space, see above) predict unseen inputs at
    accuracy 1/2: the class is defendable without being learnable."""
    cls = KeyedHash(n=24)
    rng = np.random.default_rng(115)
    learner = registry.build("learners", f"estimator:model={model}")
    correct = total = 0
    for _ in range(4):
        f = cls.random_member(rng)
        X = rng.integers(0, 2, (3, 500, 24), dtype=np.uint8)
        Q = rng.integers(0, 2, (400, 24), dtype=np.uint8)
        pred = learner.predict(cls, X, f(X.reshape(-1, 24)).reshape(3, 500), Q)
        correct += int(np.count_nonzero(pred == f(Q)[None, :]))
        total += pred.size
    lo, hi = stats.wilson(correct, total, 0.999)
    assert lo <= 0.5 <= hi


def test_vote_on_a_learner_that_cannot_learn_raises_false_alarms():
    """So a vote defender built on such a learner raises a false alarm on about half the
    clean inputs (never misses a backdoor: none exists), where `accept` wins every round."""
    r = Game("keyed-hash:n=24", "point-flip", "vote:learner=estimator:model=nearest,voters=5", 0.05)
    r = r.play(rounds=80, seed=116)
    assert r.valid_rounds == 0 and r.beta == 0.0
    lo, hi = stats.wilson(round(r.alpha * 80), 80, 0.999)
    assert lo <= 0.5 <= hi
