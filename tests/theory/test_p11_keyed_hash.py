"""P11 (random-oracle separation): keyed-hash members are about 1/2 apart, so no valid
backdoor exists and the trivial defender wins every round; yet learners stay at
accuracy 1/2 on unseen inputs. The separation is computational: a small key space is
learned by exhaustive ERM, the full one (2^128 keys) by nothing we can run.

On the full class `point-flip` declines without looking (``cheapest_flip`` returns
``None`` for 2^128 keys), so a round there says nothing. Here the full class is played
against a test-only attacker that does search: it draws keys, keeps those that flip x*,
and hands the referee the closest to f on the whole cube {0,1}^16; the referee's exact
distance check then refuses it (``too_far``) in every round. The decline is the
referee's verdict on a real candidate.

Negative controls, through the same checks: the same search with eps = 1/2, above the
members' typical distance, finds flips the referee accepts and `accept` loses those
rounds; exhaustive ERM on a small key space learns it, far from accuracy 1/2.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier

from defendability import Game, play, registry, stats
from defendability.attackers.base import Attacker
from defendability.classes.base import Function, FunctionClass
from defendability.classes.keyed_hash import KeyedHash
from defendability.game import GameResult
from defendability.spaces import Distribution


class KeySearch(Attacker):
    """Setup: the class's uniform cube and a random member f. Backdoor: random members
    until ``flippers`` of them flip x* (about half of all members do); of those, the one
    closest to f on the cube's support (exact), returned whatever its distance, so that
    the referee decides."""

    name = "key-search"

    def __init__(self, flippers: int = 4):
        self.flippers = flippers

    def setup(self, cls: FunctionClass, eps: float, rng: np.random.Generator) -> tuple[Distribution, Function]:
        return cls.default_distribution(), cls.random_member(rng)

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray, eps: float,
                 rng: np.random.Generator) -> Function | None:
        points, probs = dist.support()
        own, label = f(points), f(x_star[None])[0]
        best, best_distance, found = None, math.inf, 0
        while found < self.flippers:
            h = cls.random_member(rng)
            if h(x_star[None])[0] == label:
                continue
            found += 1
            distance = math.fsum(probs[h(points) != own])
            if distance < best_distance:
                best, best_distance = h, distance
        return best


def no_backdoor_violations(r: GameResult) -> list[str]:
    """P11's first claim, as the parts violated: no round had a valid backdoor, and the
    trivial defender won every round (alpha = beta = 0)."""
    out = []
    if r.valid_rounds != 0:
        out.append(f"{r.valid_rounds} valid rounds")
    if not (r.win_rate == 1.0 and r.alpha == 0.0 and r.beta == 0.0):
        out.append(f"win rate {r.win_rate} (alpha {r.alpha}, beta {r.beta})")
    return out


def at_one_half_violations(correct: int, total: int) -> list[str]:
    """P11's second claim for one learner: accuracy 1/2 inside the 99.9% interval."""
    lo, hi = stats.wilson(correct, total, 0.999)
    return [] if lo <= 0.5 <= hi else [f"accuracy {correct / total:.3f}, interval [{lo:.3f}, {hi:.3f}]"]


def test_accept_wins_every_round_on_a_small_key_space() -> None:
    # point-flip searches all 256 keys exhaustively and finds no flip within eps: it declines
    r = play("keyed-hash:n=16,keys=256", "point-flip", "accept", eps=0.05, rounds=200, seed=111)
    assert r.invalid_reasons == {"no_backdoor": 200}
    assert no_backdoor_violations(r) == []


def test_accept_wins_every_round_on_the_full_class() -> None:
    r = play("keyed-hash:n=16", KeySearch(), "accept", eps=0.05, rounds=30, seed=111)
    # every round the attacker offered a flip, and the referee found it too far from f
    assert r.invalid_reasons == {"too_far": 30}
    assert no_backdoor_violations(r) == []


def test_control_at_eps_one_half_the_search_finds_valid_backdoors() -> None:
    """Two members are 1/2 +- 0.002 apart on the 2^16 points: the closest of 4 flippers
    is under 1/2 with probability 15/16, a valid backdoor at eps = 1/2."""
    r = play("keyed-hash:n=16", KeySearch(), "accept", eps=0.5, rounds=30, seed=111)
    violations = no_backdoor_violations(r)
    assert len(violations) == 2 and r.beta > 0, violations


def test_members_are_about_half_apart() -> None:
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
    assert at_one_half_violations(correct, len(Q)) == []


def test_library_learners_need_the_key_space():
    full = KeyedHash(n=16)
    X = np.zeros((1, 10, 16), np.uint8)
    for name in ("erm", "one-inclusion"):
        with pytest.raises(TypeError, match="keyed-hash|members|enumerable|infeasible"):
            registry.build("learners", name).predict(full, X, np.zeros((1, 10), np.uint8), X[0])


def test_control_small_key_space_is_learned_by_exhaustive_erm() -> None:
    """The same check must refuse a learner that does learn: exhaustive ERM over 256 keys."""
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
    assert at_one_half_violations(correct, total)


def test_vote_wins_whenever_no_backdoor_exists() -> None:
    r = Game("keyed-hash:n=16,keys=256", "point-flip", "vote:learner=erm,voters=9,k=40", 0.05).play(rounds=40, seed=114)
    assert no_backdoor_violations(r) == []


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
    assert at_one_half_violations(correct, total) == []


def test_vote_on_a_learner_that_cannot_learn_raises_false_alarms():
    """So a vote defender built on such a learner raises a false alarm on about half the
    clean inputs (never misses a backdoor: none exists), where `accept` wins every round."""
    r = Game("keyed-hash:n=24", "point-flip", "vote:learner=estimator:model=nearest,voters=5", 0.05)
    r = r.play(rounds=80, seed=116)
    assert r.valid_rounds == 0 and r.beta == 0.0
    lo, hi = stats.wilson(round(r.alpha * 80), 80, 0.999)
    assert lo <= 0.5 <= hi
